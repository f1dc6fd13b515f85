# Sourced by the HTTP benchmark scripts: the `wrk` script that asks the
# lookup node for random present numbers.
#
# write_keys_lua OUT: writes OUT/keys.lua, which draws each request's number
# from OUT/keys.txt (one number a line, written by `didroute-bench
# lookup-server`) with a fixed seed. Callers may append a `done` hook.
write_keys_lua() {
    cat >"$1/keys.lua" <<LUA
local keys = {}
for line in io.lines("$1/keys.txt") do keys[#keys + 1] = "/v1/routes/+" .. line end
math.randomseed(42)
request = function() return wrk.format("GET", keys[math.random(#keys)]) end
LUA
}

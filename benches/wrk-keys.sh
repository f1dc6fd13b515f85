# Sourced by the HTTP benchmark scripts: the `wrk` script that asks the
# lookup node for random present numbers.
#
# write_keys_lua OUT: writes OUT/keys.lua, which draws each request's number
# from OUT/keys.txt (one number a line, written by `didroute-bench
# lookup-server`) with a fixed seed. Callers may append a `done` hook.
#
# The requests are formatted once, in `init`: `wrk.format` builds each one
# from a Lua table (~1 µs of the client core a request), and the one client
# core is what limits every run at 16 and 64 connections, so a request only
# picks a ready string.
write_keys_lua() {
    cat >"$1/keys.lua" <<LUA
local requests = {}
init = function(args)
  for line in io.lines("$1/keys.txt") do
    requests[#requests + 1] = wrk.format("GET", "/v1/routes/+" .. line)
  end
  math.randomseed(42)
end
request = function() return requests[math.random(#requests)] end
LUA
}

//! `didctl` run for real, as a subprocess, against a live control plane (on
//! port 0, over its own fresh database: the shared `spawn_app()`) and a
//! lookup node tailing it.

use std::path::Path;
use std::time::Duration;

use didroute_lookup::Node;
use didroute_test_support::carrier_sim::CarrierSim;
use didroute_test_support::{spawn_app, spawn_app_with, start_lookup, TestApp, OPERATOR_TOKEN};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use uuid::Uuid;

/// A control plane and a lookup node, stopped on drop.
struct Live {
    cp: String,
    lookup: String,
    _node: Node,
    _app: TestApp,
}

async fn start() -> Live {
    live(spawn_app().await).await
}

async fn live(app: TestApp) -> Live {
    let node = start_lookup(&app).await;
    Live { cp: app.base.clone(), lookup: format!("http://{}", node.local_addr()), _node: node, _app: app }
}

/// What one run of didctl did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// stdout as JSON; fails the test when it is not exactly one JSON document.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr))
    }

    #[track_caller]
    fn ok(self) -> Run {
        assert_eq!(self.code, 0, "didctl failed: {self:#?}");
        self
    }

    /// Asserts the exit code and that stderr carries the problem `title: detail`.
    #[track_caller]
    fn fails(self, code: i32, stderr_has: &str) -> Run {
        assert_eq!(self.code, code, "exit code: {self:#?}");
        assert!(self.stderr.contains(stderr_has), "stderr lacks {stderr_has:?}: {self:#?}");
        self
    }
}

impl Live {
    /// Runs didctl with DIDROUTE_URL / DIDROUTE_LOOKUP_URL pointing here and
    /// `token` as DIDROUTE_TOKEN (none when None); nothing else inherited.
    async fn run(&self, token: Option<&str>, args: &[&str]) -> Run {
        let mut cmd = self.command(token, args);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .expect("didctl finishes in time")
            .expect("didctl runs");
        let run = Run {
            code: out.status.code().expect("didctl exited, not killed"),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        };
        // DIDCTL_TEST_ECHO=1 cargo test -p didctl -- --nocapture shows every run
        if std::env::var_os("DIDCTL_TEST_ECHO").is_some() {
            eprintln!("$ didctl {}\n{}{}[exit {}]\n", args.join(" "), run.stdout, run.stderr, run.code);
        }
        run
    }

    fn command(&self, token: Option<&str>, args: &[&str]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_didctl"));
        cmd.args(args)
            .env_remove("DIDROUTE_TOKEN")
            .env_remove("DIDROUTE_TIMEOUT")
            .env("DIDROUTE_URL", &self.cp)
            .env("DIDROUTE_LOOKUP_URL", &self.lookup)
            .kill_on_drop(true);
        if let Some(t) = token {
            cmd.env("DIDROUTE_TOKEN", t);
        }
        cmd
    }

    async fn op(&self, args: &[&str]) -> Run {
        self.run(Some(OPERATOR_TOKEN), args).await
    }

    /// Creates a tenant and a key through didctl; returns (id, key).
    async fn tenant(&self, name: &str) -> (String, String) {
        let t = self.op(&["tenants", "create", name, "--json"]).await.ok().json();
        assert_eq!(t["name"], name);
        let id = t["id"].as_str().unwrap().to_owned();
        let k = self.op(&["keys", "create", &id, "--json"]).await.ok();
        assert!(k.stderr.contains("shown only this once"), "{k:#?}");
        let k = k.json();
        assert_eq!(k["tenant_id"], id.as_str());
        let key = k["key"].as_str().unwrap().to_owned();
        assert!(key.starts_with("drk_") && key.starts_with(k["key_prefix"].as_str().unwrap()), "{k}");
        (id, key)
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_owned()
}

fn numbers(v: &Value) -> Vec<&str> {
    v["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap()).collect()
}

/// Lines of stderr that are progress reports (one per request when stderr is not a terminal).
fn progress_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("import ") && l.contains(" numbers ")).collect()
}

/// didctl against an HTTPS control plane whose certificate an operator's own
/// CA signed: trusted with DIDROUTE_CA_FILE, refused without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_an_operators_ca_file() {
    let ca = didroute_test_support::TestCa::new("operator-ca");
    let dir = tempfile::tempdir().unwrap();
    let files = ca.issue("cp", "DNS:localhost,IP:127.0.0.1", dir.path());
    let tls = didroute_net::ServerTls::load(&files).unwrap();
    let app = didroute_test_support::spawn_app_with(didroute_control_plane::config::Settings {
        tls: Some(tls),
        ..didroute_test_support::settings()
    })
    .await;
    assert!(app.base.starts_with("https://"));
    let run = |ca_file: Option<&Path>| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_didctl"));
        cmd.args(["tenants", "list", "--json"])
            .env("DIDROUTE_URL", &app.base)
            .env("DIDROUTE_TOKEN", OPERATOR_TOKEN)
            .env_remove("DIDROUTE_CA_FILE")
            .kill_on_drop(true);
        if let Some(f) = ca_file {
            cmd.env("DIDROUTE_CA_FILE", f);
        }
        async move { tokio::time::timeout(Duration::from_secs(60), cmd.output()).await.unwrap().unwrap() }
    };
    let trusted = run(Some(&ca.cert)).await;
    assert!(trusted.status.success(), "{}", String::from_utf8_lossy(&trusted.stderr));
    let listed: Value = serde_json::from_slice(&trusted.stdout).unwrap();
    assert!(listed["tenants"].is_array(), "{listed}");
    let refused = run(None).await;
    assert!(!refused.status.success(), "an unknown CA must not be trusted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_keys_and_imports() {
    let live = start().await;
    let (a, _) = live.tenant("Metro PSAP").await;

    // a second tenant of the same name: 409, exit 4, the problem on stderr
    let dup = live.op(&["tenants", "create", "Metro PSAP"]).await;
    dup.fails(4, "Tenant exists: a tenant named \"Metro PSAP\" already exists");

    // the human table, aligned, with a header
    let list = live.op(&["tenants", "list"]).await.ok();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert!(lines[0].starts_with("ID ") && lines[0].contains("NAME") && lines[0].contains("CREATED_AT"), "{list:#?}");
    assert!(lines[1].starts_with(&a) && lines[1].contains("Metro PSAP"), "{list:#?}");
    assert_eq!(lines[0].find("NAME"), lines[1].find("Metro PSAP"), "columns line up: {list:#?}");
    let listed = live.op(&["tenants", "list", "--json"]).await.ok().json();
    assert_eq!(listed["tenants"].as_array().unwrap().len(), 1);

    let dir = tempfile::tempdir().unwrap();

    // PortSIP: ranges over several lines and `;`, one bad part, one number of
    // another country; 100 numbers per request means 4 requests
    let portsip = write(
        dir.path(),
        "pool.txt",
        "15550001000-15550001249;15550001250-15550001299\n+15550002000\n\n4420790000;bogus\n",
    );
    let run = live
        .op(&["import", &portsip, "--country", "US", "--monthly-cost", "1.25", "--batch-size", "100", "--json"])
        .await;
    let summary = run.json();
    assert_eq!(run.code, 5, "rejected inputs make exit 5: {run:#?}");
    assert_eq!(summary["imported"], 301, "{summary}");
    assert_eq!(summary["already_present"], 0);
    let rejected: Vec<&str> =
        summary["rejected"].as_array().unwrap().iter().map(|r| r["input"].as_str().unwrap()).collect();
    assert_eq!(rejected.len(), 2, "{summary}");
    assert!(rejected.contains(&"bogus") && rejected.iter().any(|r| r.contains("4420790000")), "{summary}");
    let progress = progress_lines(&run.stderr);
    assert_eq!(progress.len(), 4, "one progress line per request on a non-terminal stderr: {run:#?}");
    assert!(progress[3].contains("100.0%") && progress[3].contains("303/303 numbers"), "{run:#?}");
    assert!(run.stderr.contains("inputs rejected: 2"), "{run:#?}");

    // again, quietly: nothing new, no progress
    let again = live.op(&["import", &portsip, "--country", "US", "--quiet", "--json"]).await;
    assert_eq!(again.code, 5);
    assert_eq!(again.json()["already_present"], 301);
    assert!(progress_lines(&again.stderr).is_empty(), "{again:#?}");

    // CSV: groups by attributes, a tenant's private pool, a quoted field with
    // a comma, a row whose cost is not a number (rejected here, the rest goes on)
    let mut csv = String::from(
        "number,country,region,area_code,provider,carrier_module,number_type,monthly_cost,currency,tenant_id\n",
    );
    for i in 0..10 {
        csv.push_str(&format!("+1555000300{i},US,NY,,,,local,2.50,USD,\n"));
    }
    for i in 0..5 {
        csv.push_str(&format!("1555000400{i},US,,,,,,,,{a}\n"));
    }
    csv.push_str("+442079460000,GB,London,,,,local,3,GBP,\n");
    csv.push_str("+15550005000,US,\"Kings County, NY\",,,,,,,\n");
    csv.push_str("+15550005001,US,,,,,,abc,,\n");
    let csv_path = write(dir.path(), "numbers.csv", &csv);
    let run = live.op(&["import", &csv_path, "--batch-size", "4", "--json"]).await;
    let summary = run.json();
    assert_eq!(run.code, 5, "{run:#?}");
    assert_eq!(summary["imported"], 17, "{summary}");
    assert_eq!(summary["rejected"].as_array().unwrap().len(), 1, "{summary}");
    assert_eq!(summary["rejected"][0]["input"], "+15550005001");
    assert!(summary["rejected"][0]["reason"].as_str().unwrap().contains("monthly_cost \"abc\""), "{summary}");
    let progress = progress_lines(&run.stderr);
    // 10 numbers in batches of 4 (3), 5 in the pool (2), 1 GB, 1 Kings County
    assert_eq!(progress.len(), 7, "{run:#?}");
    assert!(progress.last().unwrap().contains("100.0%"), "{run:#?}");

    // what the CSV said arrived
    let ny = live.op(&["inventory", "search", "--country", "US", "--prefix", "1555000300", "--json"]).await.ok().json();
    assert_eq!(numbers(&ny).len(), 10);
    assert!(ny["numbers"].as_array().unwrap().iter().all(|n| n["region"] == "NY"
        && n["monthly_cost"] == "2.50"
        && n["currency"] == "USD"
        && n["status"] == "available"));
    let pool = live.op(&["inventory", "search", "--tenant", &a, "--json"]).await.ok().json();
    assert_eq!(numbers(&pool), ["+15550004000", "+15550004001", "+15550004002", "+15550004003", "+15550004004"]);
    assert!(pool["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["pool_tenant_id"] == a.as_str() && n["carrier_module"] == "managed"));
    let kings = live.op(&["inventory", "search", "--contains", "15550005000", "--json"]).await.ok().json();
    assert_eq!(kings["numbers"][0]["region"], "Kings County, NY");
    let gb = live.op(&["inventory", "search", "--country", "GB", "--json"]).await.ok().json();
    assert_eq!(numbers(&gb), ["+442079460000"]);
    assert_eq!(gb["numbers"][0]["currency"], "GBP");

    // paging: one page and its cursor, or every page with --all
    let page = live.op(&["inventory", "search", "--country", "US", "--limit", "100", "--json"]).await.ok().json();
    assert_eq!(numbers(&page).len(), 100);
    let cursor = page["next_cursor"].as_str().expect("a next page").to_owned();
    let next = live
        .op(&["inventory", "search", "--country", "US", "--limit", "100", "--cursor", &cursor, "--json"])
        .await
        .ok()
        .json();
    assert!(numbers(&next)[0] > cursor.as_str());
    let all =
        live.op(&["inventory", "search", "--country", "US", "--limit", "100", "--all", "--json"]).await.ok().json();
    let all_numbers = numbers(&all);
    assert_eq!(all_numbers.len(), 301 + 10 + 5 + 1, "every US number over 4 pages");
    assert!(all_numbers.windows(2).all(|w| w[0] < w[1]), "in order, no duplicates");
    assert!(all["next_cursor"].is_null());
    let human = live.op(&["inventory", "search", "--country", "US", "--limit", "2"]).await.ok();
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert!(lines[0].starts_with("NUMBER") && lines[0].contains("PROVISIONING"), "{human:#?}");
    assert!(lines[1].starts_with("+15550001000 ") && lines[1].contains("available"), "{human:#?}");
    assert!(lines[3].starts_with("more: --cursor +15550001001"), "{human:#?}");

    // patch: block and unblock, and nothing to change is a usage error
    let off = live.op(&["inventory", "patch", "+15550002000", "--disable", "--json"]).await.ok().json();
    assert_eq!(off["number"]["status"], "disabled");
    let on = live.op(&["inventory", "patch", "+15550002000", "--enable", "--monthly-cost", "9", "--json"]).await.ok();
    let on = on.json();
    assert_eq!(on["number"]["status"], "available");
    assert_eq!(on["number"]["monthly_cost"], "9.00");
    live.op(&["inventory", "patch", "+15550002000"]).await.fails(1, "nothing to change");

    // delete: gone, then 404
    let del = live.op(&["inventory", "delete", "+15550002000"]).await.ok();
    assert_eq!(del.stdout, "deleted +15550002000\n");
    live.op(&["inventory", "delete", "+15550002000"]).await.fails(3, "Not found: +15550002000 is not in the inventory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocate_lookup_remap_release_history_events() {
    let live = start().await;
    let (a, key) = live.tenant("Metro PSAP").await;
    let (_, other) = live.tenant("Other Co").await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "pool.txt", "15550001000-15550001099");
    live.op(&["import", &file, "--country", "US", "--monthly-cost", "1.25", "--quiet"]).await.ok();
    let k = Some(key.as_str());

    // available numbers, with cost
    let avail = live.run(k, &["available", "--country", "US", "--prefix", "1555000100", "--json"]).await.ok().json();
    assert_eq!(numbers(&avail).len(), 10);
    assert_eq!(avail["numbers"][0]["monthly_cost"], "1.25");
    let human = live.run(k, &["available", "--country", "US", "--limit", "1"]).await.ok();
    assert!(human.stdout.lines().nth(1).unwrap().contains("1.25 USD"), "{human:#?}");

    // reserve and cancel one number; reserve two by criteria
    let r = live.run(k, &["reserve", "+15550001000", "--ttl", "600", "--json"]).await.ok().json();
    assert_eq!(r["numbers"][0]["status"], "reserved");
    assert!(r["numbers"][0]["reserved_until"].is_string());
    let other_try = live
        .run(Some(&other), &["allocate", "+15550001000", "--subsystem", "psap", "--dashboard", "d", "--label", "l"]);
    other_try.await.fails(4, "Number unavailable: +15550001000 is ");
    let cancel = live.run(k, &["cancel-reservation", "+15550001000"]).await.ok();
    assert!(cancel.stdout.starts_with("cancelled the reservation of +15550001000: available"), "{cancel:#?}");
    let two =
        live.run(k, &["reserve", "--country", "US", "--prefix", "1555000100", "--quantity", "2", "--json"]).await.ok();
    assert_eq!(numbers(&two.json()), ["+15550001000", "+15550001001"]);
    live.run(k, &["cancel-reservation", "+15550001000"]).await.ok();
    live.run(k, &["cancel-reservation", "+15550001001"]).await.ok();
    live.run(k, &["cancel-reservation", "+15550001001"])
        .await
        .fails(3, "Not found: +15550001001 is not one of your numbers");

    // allocate with an idempotency key: a retry answers the same, changes nothing
    let alloc = [
        "allocate",
        "+15550001000",
        "--subsystem",
        "psap",
        "--dashboard",
        "dispatch-east",
        "--label",
        "Metro 911",
        "--friendly-name",
        "Main line",
        "--idempotency-key",
        "alloc-1",
        "--json",
    ];
    let first = live.run(k, &alloc).await.ok().json();
    let retry = live.run(k, &alloc).await.ok().json();
    assert_eq!(first, retry, "a retried allocation answers as the first did");
    assert_eq!(first["numbers"][0]["status"], "allocated");
    assert_eq!(first["numbers"][0]["route"]["subsystem"], "psap");
    let seq = first["seq"].as_u64().unwrap().to_string();

    // by criteria, human: a table and the seq
    let more = live
        .run(
            k,
            &[
                "allocate",
                "--country",
                "US",
                "--prefix",
                "1555000100",
                "--quantity",
                "2",
                "--subsystem",
                "utilities",
                "--dashboard",
                "water",
                "--label",
                "Water Co",
            ],
        )
        .await
        .ok();
    let lines: Vec<&str> = more.stdout.lines().collect();
    assert!(lines[0].starts_with("NUMBER") && lines[0].contains("SUBSYSTEM"), "{more:#?}");
    assert!(lines[1].starts_with("+15550001001") && lines[1].contains("utilities") && lines[1].contains("Water Co"));
    assert!(lines[2].starts_with("+15550001002"));
    assert!(lines[3].starts_with("seq "), "{more:#?}");

    // lookup on the node, reading our own write
    let route = live.run(None, &["lookup", "+15550001000", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(route["tenant_id"], a.as_str());
    assert_eq!(route["subsystem"], "psap");
    assert_eq!(route["greeting"]["kind"], "emergency");
    assert_eq!(route["greeting"]["emergency_number"], "911");
    let human = live.run(None, &["lookup", "15550001000"]).await.ok();
    assert!(human.stdout.starts_with("number "), "{human:#?}");
    assert!(human.stdout.contains("dispatch-east") && human.stdout.contains("answered at seq "), "{human:#?}");

    // remap: the lookup follows
    let remapped =
        live.run(k, &["remap", "+15550001000", "--subsystem", "utilities", "--label", "Metro Water", "--json"]).await;
    let remapped = remapped.ok().json();
    assert_eq!(remapped["route"]["customer_label"], "Metro Water");
    let seq = remapped["seq"].as_u64().unwrap().to_string();
    let route = live.run(None, &["lookup", "+15550001000", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(route["subsystem"], "utilities");
    assert_eq!(route["greeting"]["kind"], "label");
    live.run(k, &["remap", "+15550001000"]).await.fails(1, "--subsystem");

    // the tenant's numbers
    let mine = live.run(k, &["numbers", "list", "--json"]).await.ok().json();
    assert_eq!(numbers(&mine), ["+15550001000", "+15550001001", "+15550001002"]);
    let one = live.run(k, &["numbers", "get", "+15550001000", "--json"]).await.ok().json();
    assert_eq!(one["route"]["friendly_name"], "Main line");
    let human = live.run(k, &["numbers", "list", "--subsystem", "utilities", "--limit", "1"]).await.ok();
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "header, one row, the cursor: {human:#?}");
    // +15550001000 was remapped to utilities above
    assert!(lines[1].starts_with("+15550001000 ") && lines[1].contains("Metro Water"), "{human:#?}");
    assert_eq!(lines[2], "more: --cursor +15550001000 (or --all)");

    // release: cooldown, the node stops resolving it, reclaim must wait
    let rel = live
        .run(k, &["release", "+15550001000", "--reason", "customer left", "--notes", "ticket 42", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(rel["number"]["status"], "cooldown");
    assert_eq!(rel["number"]["release_reason"], "customer left");
    let seq = rel["seq"].as_u64().unwrap().to_string();
    live.run(None, &["lookup", "+15550001000", "--min-seq", &seq]).await.fails(3, "Number not routed: ");
    live.run(k, &["reclaim", "+15550001000"]).await.fails(4, "In cooldown: +15550001000 is in cooldown until");
    let human = live.run(k, &["release", "+15550001001", "--reason", "moved"]).await.ok();
    assert!(human.stdout.starts_with("released +15550001001: cooldown until "), "{human:#?}");

    // history
    let h = live.run(k, &["history", "+15550001000", "--json"]).await.ok().json();
    let actions: Vec<&str> = h["history"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "number.reserve",
            "number.reservation_cancel",
            "number.reserve",
            "number.reservation_cancel",
            "number.allocate",
            "number.remap",
            "number.release"
        ]
    );
    let human = live.run(k, &["history", "+15550001000"]).await.ok();
    assert!(human.stdout.lines().next().unwrap().contains("ACTION"));
    assert_eq!(human.stdout.lines().count(), 1 + actions.len());

    // events: one JSON line per event, in order, up to the head, then exit
    let tail = live.op(&["events", "tail"]).await.ok();
    let events: Vec<Value> = tail.stdout.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert!(!events.is_empty());
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let ours: Vec<&str> =
        events.iter().filter(|e| e["number"] == "+15550001000").map(|e| e["op"].as_str().unwrap()).collect();
    assert!(ours.contains(&"upsert"), "the allocation published the route: {ours:?}");
    assert_eq!(ours.last(), Some(&"delete"), "the release withdrew the route: {ours:?}");
    let last = *seqs.last().unwrap();
    let after = live.op(&["events", "tail", "--after", &(last - 1).to_string(), "--limit", "1"]).await.ok();
    assert_eq!(after.stdout.lines().count(), 1);
    let none = live.op(&["events", "tail", "--after", "head"]).await.ok();
    assert_eq!(none.stdout, "");
    // pages of one event still reach the head
    let paged = live.op(&["events", "tail", "--limit", "1"]).await.ok();
    assert_eq!(paged.stdout, tail.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tail_follows_and_ends_quietly_when_the_reader_goes() {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt;

    let live = start().await;
    let (_, key) = live.tenant("Metro PSAP").await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "pool.txt", "15550001000-15550001009");
    live.op(&["import", &file, "--country", "US", "--quiet"]).await.ok();
    let k = Some(key.as_str());
    // imports publish no route events: the feed is still empty
    assert_eq!(live.op(&["events", "tail"]).await.ok().stdout, "");

    let mut child = live
        .command(Some(OPERATOR_TOKEN), &["events", "tail", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("didctl starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    live.run(k, &["allocate", "+15550001000", "--subsystem", "psap", "--dashboard", "d", "--label", "l"]).await.ok();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the follower prints the event while it happens")
        .unwrap()
        .expect("a line");
    let event: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(event["number"], "+15550001000");
    assert_eq!(event["op"], "upsert");
    assert_eq!(event["route"]["subsystem"], "psap");

    // the reader goes away (`didctl events tail -f | head -1`): the next
    // event cannot be written and didctl ends with success, silently
    drop(lines);
    live.run(k, &["remap", "+15550001000", "--label", "m"]).await.ok();
    let status = tokio::time::timeout(Duration::from_secs(40), child.wait())
        .await
        .expect("didctl ends once stdout is closed")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).await.unwrap();
    assert_eq!(stderr, "", "no panic, no message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_have_exit_codes_and_problem_text() {
    let live = start().await;
    let (_, key) = live.tenant("Metro PSAP").await;
    let (_, other) = live.tenant("Other Co").await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "pool.txt", "15550001000-15550001009");
    live.op(&["import", &file, "--country", "US", "--quiet"]).await.ok();
    let k = Some(key.as_str());

    // 400: not a number, from the server, exit 2, stdout empty
    let bad = live
        .run(k, &["history", "not-a-number"])
        .await
        .fails(2, "Invalid number: \"not-a-number\" is not a valid number");
    assert_eq!(bad.stdout, "");
    live.run(None, &["lookup", "12"]).await.fails(2, "Invalid number: ");
    // 404
    live.run(k, &["history", "+15559999999"]).await.fails(3, "Not found: +15559999999 is not one of your numbers");
    live.run(None, &["lookup", "+15550001005"]).await.fails(3, "Number not routed: ");
    live.op(&["keys", "create", &Uuid::new_v4().to_string()]).await.fails(3, "Not found: no tenant");
    // 409: another tenant's number
    let args = ["allocate", "+15550001000", "--subsystem", "psap", "--dashboard", "d", "--label", "l"];
    live.run(k, &args).await.ok();
    live.run(Some(&other), &args).await.fails(4, "Number unavailable: +15550001000 is taken");
    live.op(&["inventory", "delete", "+15550001000"]).await.fails(4, "Number in use: +15550001000 is allocated");
    // 422: the pool cannot give that many
    live.run(
        k,
        &["allocate", "--country", "US", "--quantity", "50", "--subsystem", "psap", "--dashboard", "d", "--label", "l"],
    )
    .await
    .fails(5, "Pool exhausted: only 9 of the 50 numbers asked for match");
    // 400 for a bad subsystem, checked by the server
    live.run(k, &["allocate", "+15550001001", "--subsystem", "fax", "--dashboard", "d", "--label", "l"])
        .await
        .fails(2, "Invalid body: ");
    // 401: a wrong token, given as a flag
    live.run(None, &["--token", "not-the-token", "tenants", "list"])
        .await
        .fails(2, "Unauthorized: the bearer token is not valid");
    // 403: a tenant key on an operator route
    live.run(k, &["tenants", "list"]).await.fails(2, "Forbidden: this route needs the operator token");

    // configuration and usage: exit 1, nothing sent
    live.run(None, &["tenants", "list"]).await.fails(1, "no token: set DIDROUTE_TOKEN or pass --token");
    live.op(&["--url", "ftp://example.com", "tenants", "list"]).await.fails(1, "use an http:// or https:// URL");
    live.op(&["--url", "localhost:8080", "tenants", "list"]).await.fails(1, "use an http:// or https:// URL");
    live.op(&[]).await.fails(1, "Usage: didctl");
    live.op(&["tenants", "list", "--no-such-flag"]).await.fails(1, "--no-such-flag");
    live.run(k, &["allocate", "--subsystem", "psap", "--dashboard", "d", "--label", "l"]).await.fails(1, "--country");
    live.run(
        k,
        &["allocate", "+15550001001", "--country", "US", "--subsystem", "psap", "--dashboard", "d", "--label", "l"],
    )
    .await
    .fails(1, "cannot be used with");
    live.op(&["events", "tail", "--after", "soon"]).await.fails(1, "--after \"soon\"");
    live.op(&["import", "/no/such/file.txt", "--country", "US"]).await.fails(1, "cannot read /no/such/file.txt");
    let bad_csv = write(dir.path(), "bad.csv", "number,colour\n+15550009000,red\n");
    live.op(&["import", &bad_csv]).await.fails(1, "unknown column \"colour\"");
    live.op(&["import", &file, "--country", "US", "--tenant", "t1"]).await.fails(1, "tenant_id \"t1\" is not a UUID");
    // a 400 on a PortSIP import stops it: exit 2
    live.op(&["import", &file, "--country", "XX"]).await.fails(2, "Invalid country: ");

    // help: exit 0 on stdout, with the exit codes
    let help = live.run(None, &["--help"]).await.ok();
    assert!(help.stdout.contains("Exit codes") && help.stdout.contains("3  not found (404)"), "{help:#?}");

    // unreachable: exit 6
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    live.op(&["--url", &url, "tenants", "list"]).await.fails(6, "cannot connect");
    live.run(None, &["--lookup-url", &url, "lookup", "+15550001000"]).await.fails(6, "cannot connect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_feed_tokens_are_created_listed_and_revoked() {
    let live = start().await;
    let (tenant, rw) = live.tenant("Keyed").await;

    // a read-only key that expires: it reads, and a change is refused
    let made = live
        .op(&["keys", "create", &tenant, "--read-only", "--expires-at", "2099-01-31T00:00:00Z", "--json"])
        .await
        .ok()
        .json();
    assert_eq!(made["scopes"], json!(["read"]));
    assert_eq!(made["expires_at"], "2099-01-31T00:00:00Z");
    let ro = made["key"].as_str().unwrap().to_owned();
    live.run(Some(&ro), &["numbers", "list"]).await.ok();
    live.run(Some(&ro), &["reclaim", "+15550001000"]).await.fails(2, "Forbidden: ");
    live.op(&["keys", "create", &tenant, "--expires-at", "tomorrow"]).await.fails(1, "RFC 3339");

    // the listing shows both keys, never a key itself
    let listed = live.op(&["keys", "list", &tenant, "--json"]).await.ok();
    assert!(!listed.stdout.contains(&ro) && !listed.stdout.contains(&rw), "{listed:#?}");
    let keys = listed.json()["api_keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2);
    let human = live.op(&["keys", "list", &tenant]).await.ok();
    assert!(human.stdout.contains("KEY_PREFIX") && human.stdout.contains(made["key_prefix"].as_str().unwrap()));

    // revocation: the key stops working; revoking again is fine
    let id = made["id"].as_str().unwrap();
    live.op(&["keys", "revoke", &tenant, id]).await.ok();
    live.op(&["keys", "revoke", &tenant, id]).await.ok();
    live.run(Some(&ro), &["numbers", "list"]).await.fails(2, "Unauthorized: ");
    let revoked = live.op(&["keys", "list", &tenant, "--json"]).await.ok().json();
    assert!(revoked["api_keys"][1]["revoked_at"].is_string(), "{revoked}");

    // feed tokens
    let token = live.op(&["feed-tokens", "create", "--name", "edge-1", "--json"]).await.ok();
    assert!(token.stderr.contains("DIDROUTE_FEED_TOKEN"), "{token:#?}");
    let token = token.json();
    let secret = token["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("drf_"), "{token}");
    live.run(Some(&secret), &["tenants", "list"])
        .await
        .fails(2, "a feed token can only read /v1/events and send /v1/usage/batches");
    let listed = live.op(&["feed-tokens", "list"]).await.ok();
    assert!(listed.stdout.contains("edge-1") && !listed.stdout.contains(&secret), "{listed:#?}");
    live.op(&["feed-tokens", "revoke", token["id"].as_str().unwrap()]).await.ok();
    let listed = live.op(&["feed-tokens", "list", "--json"]).await.ok().json();
    let edge = listed["feed_tokens"].as_array().unwrap().iter().find(|t| t["name"] == "edge-1").unwrap().clone();
    assert!(edge["revoked_at"].is_string(), "{listed}");
    live.op(&["feed-tokens", "revoke", &Uuid::new_v4().to_string()]).await.fails(3, "Not found: ");

    // carriers: none configured in the harness, said so; operators only
    let carriers = live.op(&["carriers", "list"]).await.ok();
    assert!(carriers.stdout.contains("no carriers configured"), "{carriers:#?}");
    assert_eq!(live.op(&["carriers", "list", "--json"]).await.ok().json(), serde_json::json!({ "carriers": [] }));
    live.run(Some(&rw), &["carriers", "list"]).await.fails(2, "Forbidden: ");
}

/// Greetings and attributes from the command line: a tenant's locale and
/// templates (`tenants update`), a number's own greeting text and its
/// route's attributes on allocate and remap, read back from the lookup node.
#[tokio::test]
async fn greetings_and_attributes() {
    let live = start().await;
    let (id, key) = live.tenant("Kingston Voice").await;
    let k = Some(key.as_str());
    let dir = tempfile::tempdir().unwrap();
    // no --country: the numbering plan says JM
    let file = write(dir.path(), "jm.txt", "+18765230123;+18765230124");
    live.op(&["import", &file, "--monthly-cost", "1", "--quiet"]).await.ok();

    let alloc = [
        "allocate",
        "+18765230123",
        "--subsystem",
        "psap",
        "--dashboard",
        "d",
        "--label",
        "Kingston",
        "--attributes",
        r#"{"voice": "alloy", "script": "psap-v2"}"#,
        "--json",
    ];
    let first = live.run(k, &alloc).await.ok().json();
    let seq = first["seq"].as_u64().unwrap().to_string();
    let route = live.run(None, &["lookup", "+18765230123", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(route["country"], "JM", "{route}");
    assert_eq!(route["greeting"]["text"], "119, what is the address of your emergency?", "{route}");
    assert_eq!(route["attributes"], json!({ "voice": "alloy", "script": "psap-v2" }), "{route}");

    let own = ["allocate", "+18765230124", "--subsystem", "utilities", "--dashboard", "d", "--label", "Water"];
    let own = live.run(k, &[&own[..], &["--greeting-text", "Water board, hello", "--json"]].concat()).await.ok().json();
    let seq = own["seq"].as_u64().unwrap().to_string();
    let route = live.run(None, &["lookup", "+18765230124", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(route["greeting"]["text"], "Water board, hello", "{route}");

    // the operator sets Spanish and an emergency template of the tenant's own
    let upd = live
        .op(&[
            "tenants",
            "update",
            &id,
            "--locale",
            "es",
            "--emergency-template",
            "Emergencias {emergency_number}",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(upd["tenant"]["locale"], "es", "{upd}");
    let seq = upd["seq"].as_u64().expect("allocated numbers re-published").to_string();
    let route = live.run(None, &["lookup", "+18765230123", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!((route["locale"].as_str(), route["greeting"]["text"].as_str()), (Some("es"), Some("Emergencias 119")));
    let human = live.op(&["tenants", "update", &id, "--default-emergency-template"]).await.ok();
    assert!(human.stdout.contains("re-published its allocated numbers at seq"), "{human:#?}");
    live.op(&["tenants", "update", &id, "--label-template", "Hi {nombre}"])
        .await
        .fails(2, "Invalid greeting: greeting_templates.label: unknown placeholder {nombre}");
    live.op(&["tenants", "update", &id]).await.fails(1, "--locale");

    // remap: new text and attributes, then cleared
    let r = live
        .run(
            k,
            &["remap", "+18765230124", "--greeting-text", "Nuevo", "--attributes", r#"{"voice": "verse"}"#, "--json"],
        )
        .await
        .ok()
        .json();
    let seq = r["seq"].as_u64().unwrap().to_string();
    let route = live.run(None, &["lookup", "+18765230124", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(
        (route["greeting"]["text"].as_str(), &route["attributes"]),
        (Some("Nuevo"), &json!({ "voice": "verse" }))
    );
    let r = live
        .run(k, &["remap", "+18765230124", "--clear-greeting-text", "--clear-attributes", "--json"])
        .await
        .ok()
        .json();
    let seq = r["seq"].as_u64().unwrap().to_string();
    let route = live.run(None, &["lookup", "+18765230124", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(route["greeting"]["text"], "Gracias por llamar a Water.", "{route}");
    assert!(route.get("attributes").is_none(), "{route}");
    live.run(k, &["remap", "+18765230124", "--attributes", "[1, 2]"])
        .await
        .fails(2, "Invalid attributes: attributes must be a JSON object, not an array");
    live.run(k, &["remap", "+18765230124", "--attributes", "{not json"]).await.fails(1, "not JSON");
}

/// Range routes from the command line: add, list, lookup as a range route,
/// an overlap refused, delete.
#[tokio::test]
async fn ranges_add_list_delete() {
    let live = start().await;
    let (id, _) = live.tenant("Range Co").await;
    let (other, _) = live.tenant("Other Co").await;
    let added = live
        .op(&[
            "ranges",
            "add",
            &id,
            "12125557000-12125557099",
            "--subsystem",
            "mdoc",
            "--customer-label",
            "Range Co",
            "--json",
        ])
        .await
        .ok()
        .json();
    assert_eq!(added["numbers"], 100, "{added}");
    let seq = added["seq"].as_u64().unwrap().to_string();
    let route = live.run(None, &["lookup", "+12125557042", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(route["source"], "range", "{route}");
    assert_eq!(route["subsystem"], "mdoc", "{route}");
    assert_eq!(route["tenant_id"], id.as_str(), "{route}");

    let listed = live.op(&["ranges", "list", &id]).await.ok();
    assert!(listed.stdout.contains("12125557000-12125557099"), "{listed:#?}");
    live.op(&["ranges", "add", &other, "12125557050-12125557150"]).await.fails(4, "Range overlaps: ");

    let range_id = added["id"].as_i64().unwrap().to_string();
    let deleted = live.op(&["ranges", "delete", &range_id, "--json"]).await.ok().json();
    let seq = deleted["seq"].as_u64().unwrap().to_string();
    live.run(None, &["lookup", "+12125557042", "--min-seq", &seq]).await.fails(3, "Number not routed: ");
    let listed = live.op(&["ranges", "list", &id]).await.ok();
    assert!(listed.stdout.contains("no ranges"), "{listed:#?}");
}

/// The carrier commands against `didroute-carrier-sim` (a process): list
/// carriers, search stock, order and follow the order, reconcile, list and
/// adopt an orphan; a carrier that does not exist is a 404's exit code.
#[tokio::test]
async fn carriers_search_order_reconcile_orphans() {
    let sim = CarrierSim::start();
    let live = live(spawn_app_with(sim.settings()).await).await;

    let carriers = live.op(&["carriers", "list", "--json"]).await.ok().json();
    assert_eq!(carriers["carriers"][0]["name"], "sim", "{carriers}");
    assert_eq!(carriers["carriers"][0]["healthy"], true, "{carriers}");
    let text = live.op(&["carriers", "list"]).await.ok();
    assert!(text.stdout.contains("sim") && text.stdout.contains("telnyx"), "{text:#?}");

    let found = live
        .op(&["carrier-search", "sim", "--country", "US", "--area-code", "555", "--limit", "3", "--json"])
        .await
        .ok()
        .json();
    let stock = found["numbers"].as_array().unwrap();
    assert_eq!(stock.len(), 3, "{found}");
    let number = stock[0]["number"].as_str().unwrap().to_owned();
    live.op(&["carrier-search", "nope", "--country", "US"]).await.fails(3, "nope");

    // waits until the carrier completes the order
    let order = live.op(&["order", "create", "--carrier", "sim", "--number", &number, "--json"]).await.ok().json();
    assert_eq!(order["status"], "completed", "{order}");
    assert_eq!(order["numbers"][0]["number"], number.as_str(), "{order}");
    assert_eq!(order["numbers"][0]["provisioning_status"], "active", "{order}");
    let id = order["order_id"].as_str().unwrap();
    let shown = live.op(&["order", "show", id]).await.ok();
    assert!(shown.stdout.contains("completed") && shown.stdout.contains(&number), "{shown:#?}");
    assert_eq!(sim.state().await["counters"]["orders_placed"], 1);

    // a number the carrier bills for that the inventory does not hold
    let orphan = "+15550000299";
    sim.admin("orphans", json!({ "phone_numbers": [orphan] })).await;
    let report = live.op(&["reconcile", "--json"]).await.ok().json();
    assert_eq!(report["status"], "finished", "{report}");
    assert_eq!(report["carriers"][0]["orphans"], 1, "{report}");
    assert_eq!(report["carriers"][0]["gone"], 0, "{report}");
    let latest = live.op(&["reconcile", "--latest", "--json"]).await.ok().json();
    assert_eq!(latest["reconciliation_id"], report["reconciliation_id"], "{latest}");
    let orphans = live.op(&["orphans", "list", "--json"]).await.ok().json();
    assert_eq!(orphans["orphans"][0]["number"], orphan, "{orphans}");
    live.op(&["orphans", "adopt", orphan]).await.ok();
    let item = live.op(&["inventory", "search", "--contains", &orphan[1..], "--json"]).await.ok().json();
    assert_eq!(item["numbers"][0]["number"], orphan, "{item}");
    assert_eq!(item["numbers"][0]["provisioning_status"], "active", "{item}");
    live.op(&["orphans", "adopt", orphan]).await.fails(3, "Not found: ");
}

#[tokio::test]
async fn usage_and_the_busiest_numbers() {
    let live = start().await;
    let (id, key) = live.tenant("Busy Co").await;
    let app = &live._app;
    app.import("+15550400000-+15550400009", "US").await;
    let tenant = didroute_test_support::TestTenant { id: id.parse().unwrap(), key: key.clone() };
    for n in ["+15550400001", "+15550400002"] {
        assert_eq!(app.allocate(&tenant, n, "psap").await.0, reqwest::StatusCode::CREATED);
    }
    // a lookup node's batch, as one would ship it
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let batch = json!({ "node_id": "cli", "batch_id": "cli-1", "window_start": now, "window_end": now,
        "counts": [{ "number": "+15550400001", "lookups": 7 }, { "number": "+15550400002", "lookups": 2 }] });
    let res = app
        .http
        .post(format!("{}/v1/usage/batches", app.base))
        .bearer_auth(OPERATOR_TOKEN)
        .header("idempotency-key", "cli-1")
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);

    let usage = live.run(Some(&key), &["usage", "+15550400001", "--json"]).await.ok().json();
    assert_eq!((usage["total"].as_u64(), usage["buckets"].as_array().unwrap().len()), (Some(7), 24), "{usage}");
    let human = live.run(Some(&key), &["usage", "15550400001", "--bucket", "day"]).await.ok();
    assert!(human.stdout.contains("total 7"), "{human:#?}");
    let top = live.run(Some(&key), &["usage-top", "--limit", "1"]).await.ok();
    assert!(top.stdout.contains("+15550400001") && !top.stdout.contains("+15550400002"), "{top:#?}");
    let all = live.op(&["usage-top", "--tenant", &id, "--json"]).await.ok().json();
    assert_eq!(numbers(&all), ["+15550400001", "+15550400002"], "{all}");
    live.run(Some(&key), &["usage", "+15550400001", "--from", "later"]).await.fails(2, "RFC 3339");
}

#[tokio::test]
async fn tracking_pools_and_sessions() {
    let live = start().await;
    let (_, key) = live.tenant("Ad Agency").await;
    let k = Some(key.as_str());
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "pool.txt", "12125559000-12125559003");
    live.op(&["import", &file, "--country", "US", "--monthly-cost", "1", "--quiet"]).await.ok();

    let created = live
        .run(
            k,
            &[
                "tracking",
                "pools",
                "create",
                "Billboards",
                "--country",
                "US",
                "--prefix",
                "121255590",
                "--quantity",
                "2",
                "--lease-seconds",
                "600",
                "--fallback-number",
                "+12125559003",
                "--json",
            ],
        )
        .await
        .ok()
        .json();
    assert_eq!((created["size"].as_i64(), created["free"].as_i64()), (Some(2), Some(2)), "{created}");
    let pool_id = created["id"].as_str().unwrap().to_owned();
    let listed = live.run(k, &["tracking", "pools", "list"]).await.ok();
    assert!(listed.stdout.contains("Billboards"), "{listed:#?}");

    let started = live
        .run(
            k,
            &[
                "tracking",
                "session",
                "start",
                &pool_id,
                "visitor-9",
                "--attributes",
                r#"{"utm_source":"billboard"}"#,
                "--json",
            ],
        )
        .await
        .ok()
        .json();
    assert_eq!(
        (started["leased"].as_bool(), started["number"].as_str()),
        (Some(true), Some("+12125559000")),
        "{started}"
    );
    let sid = started["session_id"].as_str().unwrap().to_owned();
    let seq = started["seq"].as_u64().unwrap().to_string();
    let route = live.run(None, &["lookup", "+12125559000", "--min-seq", &seq, "--json"]).await.ok().json();
    assert_eq!(route["tracking"]["visitor_id"], "visitor-9", "{route}");
    assert_eq!(route["tracking"]["attributes"]["utm_source"], "billboard", "{route}");

    let shown = live.run(k, &["tracking", "pools", "show", &pool_id]).await.ok();
    assert!(shown.stdout.contains("leased") && shown.stdout.contains(&sid), "{shown:#?}");
    live.run(k, &["tracking", "session", "renew", &sid]).await.ok();
    let ended = live.run(k, &["tracking", "session", "end", &sid, "--json"]).await.ok().json();
    assert_eq!(ended["end_reason"], "ended");
    live.run(k, &["tracking", "session", "end", &sid]).await.fails(4, "Tracking session ended: ");
    let read = live.run(k, &["tracking", "session", "show", &sid, "--json"]).await.ok().json();
    assert_eq!(read["visitor_id"], "visitor-9");
    live.run(k, &["tracking", "session", "start", &pool_id, "v", "--attributes", "not json"])
        .await
        .fails(1, "--attributes is not JSON");

    let deleted = live.run(k, &["tracking", "pools", "delete", &pool_id, "--release", "--json"]).await.ok().json();
    assert_eq!((deleted["numbers"].as_i64(), deleted["disposition"].as_str()), (Some(2), Some("release")), "{deleted}");
    let listed = live.run(k, &["tracking", "pools", "list"]).await.ok();
    assert!(listed.stdout.contains("no tracking pools"), "{listed:#?}");
}

//! Request ids, request logs and `/metrics`: what an operator watching a
//! control plane relies on.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::Connection;

use crate::helpers::{fresh_database, settings, spawn_app, spawn_app_with, TestApp, OPERATOR_TOKEN};

/// `didroute-control-plane serve` as a child process with JSON logs: the
/// logging the binary really installs, read back from its stdout.
pub(crate) struct Served {
    child: std::process::Child,
    pub(crate) base: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Served {
    pub(crate) async fn start() -> Served {
        let url = fresh_database().await;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_didroute-control-plane"))
            .arg("serve")
            .env("DATABASE_URL", &url)
            .env("DIDROUTE_OPERATOR_TOKEN", OPERATOR_TOKEN)
            .env("DIDROUTE_LISTEN", "127.0.0.1:0")
            .env("DIDROUTE_LOG_FORMAT", "json")
            // debug: the most a deployment would log, so a secret in any
            // line shows (security.rs greps them)
            .env("RUST_LOG", "debug")
            .env_remove("DIDROUTE_KAFKA_BROKERS")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("start didroute-control-plane serve");
        let stdout = child.stdout.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["fields"]["message"] == "control plane listening" {
                        let _ = addr_tx.send(v["fields"]["addr"].as_str().unwrap_or_default().to_owned());
                    }
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = tokio::task::spawn_blocking(move || addr_rx.recv_timeout(Duration::from_secs(60)))
            .await
            .unwrap()
            .expect("serve logs where it listens, as JSON");
        Served { child, base: format!("http://{addr}"), logs }
    }

    /// Every line so far, as written.
    pub(crate) fn raw(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    fn lines(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}")))
            .collect()
    }
}

async fn get(base: &str, path: &str, token: &str, request_id: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token);
    if let Some(id) = request_id {
        req = req.header("x-request-id", id);
    }
    req.send().await.unwrap()
}

fn request_id(res: &reqwest::Response) -> String {
    res.headers().get("x-request-id").expect("every answer carries x-request-id").to_str().unwrap().to_owned()
}

#[tokio::test]
async fn request_ids_are_echoed_and_carried_by_the_json_logs() {
    let served = Served::start().await;
    let base = served.base.as_str();

    // the caller's id comes back, on an error answer too
    let res = get(base, "/v1/numbers/+15550001111", OPERATOR_TOKEN, Some("call-7f3a-prewarm")).await;
    let refused = res.status();
    assert!(refused.is_client_error(), "{refused}");
    assert_eq!(request_id(&res), "call-7f3a-prewarm");
    let res = get(base, "/v1/tenants", OPERATOR_TOKEN, Some("list-1")).await;
    assert_eq!((res.status(), request_id(&res)), (StatusCode::OK, "list-1".to_owned()));

    // without one (or with one that is unusable) a fresh id is made, different each time
    let a = request_id(&get(base, "/v1/tenants", OPERATOR_TOKEN, None).await);
    let b = request_id(&get(base, "/v1/tenants", OPERATOR_TOKEN, None).await);
    assert_eq!((a.len(), b.len()), (32, 32), "{a} {b}");
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    assert_ne!(a, b);
    let long = "x".repeat(129);
    let replaced = request_id(&get(base, "/v1/tenants", OPERATOR_TOKEN, Some(&long)).await);
    assert_ne!(replaced, long);
    assert_eq!(replaced.len(), 32);

    // routes nobody registered and refused tokens get one as well
    let res = get(base, "/v1/nothing-here", OPERATOR_TOKEN, Some("lost-1")).await;
    assert_eq!((res.status(), request_id(&res)), (StatusCode::NOT_FOUND, "lost-1".to_owned()));
    let res = get(base, "/v1/numbers", "drk_wrong", Some("denied-1")).await;
    assert_eq!((res.status(), request_id(&res)), (StatusCode::UNAUTHORIZED, "denied-1".to_owned()));

    // one JSON line per answer, with the id, the route template (not the
    // number) and the status; the line may trail the answer by a moment
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = served.lines();
        if lines.iter().any(|l| l["span"]["request_id"] == "denied-1") || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let answered = |id: &str| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l["fields"]["message"] == "answered" && l["span"]["request_id"] == id)
            .cloned()
            .collect()
    };
    let first = answered("call-7f3a-prewarm");
    assert_eq!(first.len(), 1, "one log line for the request: {lines:#?}");
    let line = &first[0];
    assert_eq!(line["span"]["route"], "/v1/numbers/{number}", "{line}");
    assert_eq!(line["span"]["method"], "GET", "{line}");
    assert_eq!(line["fields"]["status"], refused.as_u16(), "{line}");
    assert!(line["fields"]["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    assert!(!line.to_string().contains("15550001111"), "the number stays out of the request log: {line}");
    assert_eq!(answered("list-1")[0]["fields"]["status"], 200);
    assert_eq!(answered("lost-1")[0]["span"]["route"], "unmatched");
    assert_eq!(answered("denied-1")[0]["fields"]["status"], 401);

    // a refusal (401, 403) is logged with its request id and kind, never
    // with the secret that was presented
    let res = get(base, "/v1/numbers", OPERATOR_TOKEN, Some("forbidden-1")).await;
    assert_eq!((res.status(), request_id(&res)), (StatusCode::FORBIDDEN, "forbidden-1".to_owned()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let lines = served.lines();
        if lines.iter().any(|l| l["span"]["request_id"] == "forbidden-1" && l["fields"]["message"] == "answered")
            || Instant::now() > deadline
        {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let refused =
        |id: &str| lines.iter().find(|l| l["fields"]["message"] == "refused" && l["span"]["request_id"] == id).cloned();
    let denied = refused("denied-1").unwrap_or_else(|| panic!("no refused line for denied-1: {lines:#?}"));
    assert_eq!(
        (denied["fields"]["status"].as_u64(), denied["fields"]["kind"].as_str()),
        (Some(401), Some("unauthorized"))
    );
    let forbidden = refused("forbidden-1").unwrap_or_else(|| panic!("no refused line for forbidden-1: {lines:#?}"));
    assert_eq!(forbidden["fields"]["kind"], "forbidden");
    for line in served.logs.lock().unwrap().iter() {
        assert!(!line.contains("drk_wrong") && !line.contains(OPERATOR_TOKEN), "a secret reached the log: {line}");
    }
}

/// Made-up HTTP methods are one `_OTHER` label and unknown paths one
/// `unmatched` route: a client cannot grow `/metrics` without bound.
#[tokio::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let app = spawn_app().await;
    let pairs = |m: &BTreeMap<(String, String), f64>| -> std::collections::BTreeSet<String> {
        m.keys().filter(|k| k.0 == "didroute_http_requests_total").map(|k| k.1.clone()).collect()
    };
    // the first scrape counts itself: baseline after it
    scrape(&app).await;
    let before = pairs(&scrape(&app).await);
    let mut invented = Vec::new();
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("BREW{i}X").as_bytes()).unwrap();
        invented.push(method.to_string());
        let path = if i % 2 == 0 { "/v1/tenants".to_owned() } else { format!("/v1/made-up-{i}") };
        let res =
            app.http.request(method, format!("{}{path}", app.base)).bearer_auth(OPERATOR_TOKEN).send().await.unwrap();
        assert!(res.status().is_client_error(), "{}", res.status());
    }
    let after = scrape(&app).await;
    let new: Vec<String> = pairs(&after).difference(&before).cloned().collect();
    for series in &new {
        assert!(series.contains("method=\"_OTHER\""), "a made-up method got its own series: {series}");
        assert!(!invented.iter().any(|m| series.contains(m.as_str())), "{series}");
        assert!(!series.contains("made-up"), "a made-up path got its own series: {series}");
    }
    // _OTHER on the one real route and on `unmatched`, one status each
    assert!(new.len() <= 2, "{new:#?}");
    assert_eq!(
        after
            .iter()
            .filter(|(k, _)| k.0 == "didroute_http_requests_total" && k.1.contains("_OTHER"))
            .map(|(_, v)| v)
            .sum::<f64>(),
        50.0
    );
}

/// `/metrics` as (name, sorted labels) → value.
async fn scrape(app: &TestApp) -> BTreeMap<(String, String), f64> {
    let res = app.http.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("bad line {line}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => {
                let mut pairs: Vec<&str> = l.trim_end_matches('}').split(',').filter(|p| !p.is_empty()).collect();
                pairs.sort();
                (n.to_owned(), pairs.join(","))
            }
            None => (series.to_owned(), String::new()),
        };
        out.insert((name, labels), value.parse().unwrap_or_else(|_| panic!("bad value in {line}")));
    }
    out
}

fn metric(m: &BTreeMap<(String, String), f64>, name: &str, labels: &[&str]) -> f64 {
    let mut labels = labels.to_vec();
    labels.sort();
    let key = (name.to_owned(), labels.join(","));
    *m.get(&key)
        .unwrap_or_else(|| panic!("no series {key:?} in {:#?}", m.keys().filter(|k| k.0 == name).collect::<Vec<_>>()))
}

#[tokio::test]
async fn metrics_count_requests_claims_and_the_outbox() {
    let app = spawn_app().await;
    let t = app.tenant("counted").await;
    app.import("+15557770001-15557770003", "US").await;
    let before = scrape(&app).await;
    assert_eq!(metric(&before, "didroute_database_up", &[]), 1.0);

    let (s, first) = app.allocate(&t, "+15557770001", "psap").await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, _) = app.allocate(&t, "+15557770001", "psap").await;
    assert_eq!(s, StatusCode::CONFLICT);
    let route = json!({ "subsystem": "utilities", "dashboard_id": "d", "customer_label": "c" });
    let mut by_criteria = route.clone();
    by_criteria["criteria"] = json!({ "country": "US" });
    by_criteria["quantity"] = json!(5);
    let (s, _) = app.call(Method::POST, "/v1/numbers", Some(&t.key), Some(by_criteria.clone())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "only two are left");
    by_criteria["quantity"] = json!(2);
    for _ in 0..2 {
        let res = app
            .http
            .post(format!("{}/v1/numbers", app.base))
            .bearer_auth(&t.key)
            .header("idempotency-key", "batch-1")
            .json(&by_criteria)
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert_eq!(status, StatusCode::CREATED, "{}", res.text().await.unwrap());
    }

    let m = scrape(&app).await;
    let claims = |outcome: &str| {
        metric(&m, "didroute_claims_total", &["action=\"allocate\"", &format!("outcome=\"{outcome}\"")])
    };
    assert_eq!(claims("allocated"), 2.0, "one by number, one by criteria");
    assert_eq!(claims("replayed"), 1.0);
    assert_eq!(claims("already-allocated"), 1.0);
    assert_eq!(claims("pool-exhausted"), 1.0);
    assert_eq!(metric(&m, "didroute_claimed_numbers_total", &["action=\"allocate\""]), 3.0);

    let post = ["method=\"POST\"", "route=\"/v1/numbers\""];
    assert_eq!(metric(&m, "didroute_http_requests_total", &[post[0], post[1], "status=\"201\""]), 3.0);
    assert_eq!(metric(&m, "didroute_http_requests_total", &[post[0], post[1], "status=\"409\""]), 1.0);
    assert_eq!(metric(&m, "didroute_http_requests_total", &[post[0], post[1], "status=\"422\""]), 1.0);
    assert_eq!(metric(&m, "didroute_http_request_duration_seconds_count", &post), 5.0);
    assert!(metric(&m, "didroute_http_request_duration_seconds_sum", &post) > 0.0);
    // the previous scrape counted itself
    assert_eq!(
        metric(&m, "didroute_http_requests_total", &["method=\"GET\"", "route=\"/metrics\"", "status=\"200\""]),
        1.0
    );

    // outbox: three allocations sequenced, nothing waiting for a position
    let head = metric(&m, "didroute_outbox_head_seq", &[]);
    assert!(head >= first["seq"].as_f64().unwrap() + 1.0, "head {head} after {first}");
    assert_eq!(metric(&m, "didroute_outbox_unsequenced", &[]), 0.0);
    assert_eq!(metric(&m, "didroute_outbox_unsequenced_oldest_age_seconds", &[]), 0.0);
    assert!(!m.keys().any(|k| k.0 == "didroute_outbox_unpublished"), "no relay in this process, no publish backlog");

    // a row committed while the sequencer cannot run (its lock held here)
    // shows as backlog with an age, and goes once the sequencer runs again
    let mut owner = sqlx::PgConnection::connect(&app.owner_url).await.unwrap();
    sqlx::query("SELECT pg_advisory_lock(7046331)").execute(&mut owner).await.unwrap();
    sqlx::query("INSERT INTO outbox (e164, version, op, at) VALUES ('+15557770003', 1, 'delete', now() - interval '90 seconds')")
        .execute(&mut owner)
        .await
        .unwrap();
    let m = scrape(&app).await;
    assert_eq!(metric(&m, "didroute_outbox_unsequenced", &[]), 1.0);
    assert!(metric(&m, "didroute_outbox_unsequenced_oldest_age_seconds", &[]) >= 90.0);
    sqlx::query("SELECT pg_advisory_unlock(7046331)").execute(&mut owner).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = scrape(&app).await;
        if metric(&m, "didroute_outbox_unsequenced", &[]) == 0.0 {
            assert!(metric(&m, "didroute_outbox_head_seq", &[]) > head);
            break;
        }
        assert!(Instant::now() < deadline, "the sequencer never caught up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn metrics_count_lifecycle_runs_and_what_they_moved() {
    let app = spawn_app_with(didroute_control_plane::config::Settings {
        lifecycle_interval: Some(Duration::from_millis(100)),
        ..settings()
    })
    .await;
    let t = app.tenant("held").await;
    app.import("+15558880001", "US").await;
    let (s, body) = app
        .call(
            Method::POST,
            "/v1/reservations",
            Some(&t.key),
            Some(json!({ "number": "+15558880001", "ttl_seconds": 1 })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let m = scrape(&app).await;
        let moved = m.get(&("didroute_lifecycle_moved_total".into(), "job=\"reservation.expire\"".into())).copied();
        if moved == Some(1.0) {
            assert!(metric(&m, "didroute_lifecycle_runs_total", &["outcome=\"ok\""]) >= 1.0);
            assert_eq!(metric(&m, "didroute_claims_total", &["action=\"reserve\"", "outcome=\"reserved\""]), 1.0);
            break;
        }
        assert!(Instant::now() < deadline, "the reservation never expired: {m:#?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, n) = app.op(Method::GET, "/v1/inventory?prefix=1555888", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(n["numbers"][0]["status"], "available", "{n}");
}

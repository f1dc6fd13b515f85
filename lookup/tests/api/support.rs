//! Test scaffolding: a scripted fake control-plane feed (axum), a lookup
//! node started in-process against it, and small HTTP helpers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use didroute_lookup::{Config, Node};
use didroute_shared::{ChangeEvent, Country, Op, Route, Subsystem, E164};
use serde_json::{json, Value};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use uuid::Uuid;

pub const TOKEN: &str = "test-operator-token";
pub const TENANT_A: Uuid = Uuid::from_u128(0x0a0a_0a0a_0a0a_4a0a_8a0a_0a0a_0a0a_0a0a);
pub const TENANT_B: Uuid = Uuid::from_u128(0x0b0b_0b0b_0b0b_4b0b_8b0b_0b0b_0b0b_0b0b);

pub fn num(s: &str) -> E164 {
    E164::parse(s).unwrap()
}

pub fn route(tenant: Uuid, subsystem: Subsystem, label: &str, country: &str) -> Route {
    Route {
        tenant_id: tenant,
        subsystem,
        dashboard_id: format!("dash-{label}"),
        customer_label: label.to_owned(),
        country: Country::parse(country).unwrap(),
        friendly_name: Some(format!("{label} main line")),
        organisation_id: None,
        auto_provisioned: false,
        locale: "en".into(),
        greeting_template: None,
        greeting_text: None,
        attributes: None,
        tracking: None,
    }
}

pub fn psap(tenant: Uuid, label: &str) -> Route {
    route(tenant, Subsystem::Psap, label, "US")
}

pub fn utility(tenant: Uuid, label: &str) -> Route {
    route(tenant, Subsystem::Utilities, label, "US")
}

/// How the fake feed misbehaves.
#[derive(Default)]
struct Faults {
    /// Answer 503 problem+json while set.
    down: AtomicBool,
    /// Each page also re-sends earlier events, and the page is shuffled.
    messy: AtomicBool,
    /// Answer 503 to every request after this many (0: no budget).
    budget: AtomicUsize,
}

struct FeedState {
    /// Event JSON by position: `events[i]` has seq `i + 1`.
    events: Mutex<Vec<Value>>,
    head: watch::Sender<u64>,
    faults: Faults,
    requests: AtomicUsize,
    unauthorized: AtomicUsize,
    /// Largest `limit` and `wait_ms` seen, to check what the node asks for.
    seen: Mutex<HashMap<&'static str, u64>>,
    /// The `after` of every authorised request, in order.
    afters: Mutex<Vec<u64>>,
    /// Usage batches accepted, and the `Idempotency-Key` of every attempt.
    usage: Mutex<Vec<Value>>,
    usage_attempts: Mutex<Vec<String>>,
    /// Answer 503 to usage batches while set.
    usage_down: AtomicBool,
}

/// A stand-in for the control plane's `GET /v1/events`, following its
/// contract: ascending gap-free seqs, `last_seq`, `head_seq`, long poll.
pub struct FakeFeed {
    state: Arc<FeedState>,
    pub addr: SocketAddr,
    _server: tokio::task::JoinHandle<()>,
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
    #[serde(default)]
    wait_ms: u64,
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let body =
        json!({"type": "https://didroute.dev/problems/x", "title": "x", "status": status.as_u16(), "detail": detail});
    (status, [("content-type", "application/problem+json")], body.to_string()).into_response()
}

async fn events(State(s): State<Arc<FeedState>>, headers: HeaderMap, Query(q): Query<FeedQuery>) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        s.unauthorized.fetch_add(1, Ordering::SeqCst);
        return problem(StatusCode::UNAUTHORIZED, "missing or wrong operator token");
    }
    s.afters.lock().unwrap().push(q.after);
    {
        let mut seen = s.seen.lock().unwrap();
        let limit = seen.entry("limit").or_default();
        *limit = (*limit).max(q.limit.unwrap_or(0) as u64);
        let wait = seen.entry("wait_ms").or_default();
        *wait = (*wait).max(q.wait_ms);
    }
    let budget = s.faults.budget.load(Ordering::SeqCst);
    if s.faults.down.load(Ordering::SeqCst) || (budget > 0 && s.requests.load(Ordering::SeqCst) > budget) {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "the database is down");
    }
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let mut head = s.head.subscribe();
    if *head.borrow_and_update() <= q.after && q.wait_ms > 0 {
        let _ = tokio::time::timeout(Duration::from_millis(q.wait_ms), head.wait_for(|h| *h > q.after)).await;
    }
    let all = s.events.lock().unwrap().clone();
    let head_seq = all.len() as u64;
    let start = (q.after as usize).min(all.len());
    let mut page: Vec<Value> = all[start..].iter().take(limit).cloned().collect();
    let last_seq = q.after.max(start as u64 + page.len() as u64);
    if s.faults.messy.load(Ordering::SeqCst) && start > 0 {
        // Replays: every earlier event again, then the page shuffled.
        page.extend(all[..start].iter().cloned());
        let mut seed = last_seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for i in (1..page.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            page.swap(i, (seed % (i as u64 + 1)) as usize);
        }
    }
    axum::Json(json!({"events": page, "last_seq": last_seq, "head_seq": head_seq})).into_response()
}

/// `POST /v1/usage/batches` as the control plane takes it: the feed token,
/// an `Idempotency-Key`.
async fn usage_batch(
    State(s): State<Arc<FeedState>>,
    headers: HeaderMap,
    axum::Json(batch): axum::Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        return problem(StatusCode::UNAUTHORIZED, "missing or wrong token");
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    s.usage_attempts.lock().unwrap().push(key);
    if s.usage_down.load(Ordering::SeqCst) {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "the database is down");
    }
    let id = batch["batch_id"].clone();
    s.usage.lock().unwrap().push(batch);
    axum::Json(json!({"batch_id": id, "applied": true, "stored": 0, "unattributed": 0})).into_response()
}

impl FakeFeed {
    pub async fn start() -> FakeFeed {
        let state = Arc::new(FeedState {
            events: Mutex::new(Vec::new()),
            head: watch::channel(0).0,
            faults: Faults::default(),
            requests: AtomicUsize::new(0),
            unauthorized: AtomicUsize::new(0),
            seen: Mutex::new(HashMap::new()),
            afters: Mutex::new(Vec::new()),
            usage: Mutex::new(Vec::new()),
            usage_attempts: Mutex::new(Vec::new()),
            usage_down: AtomicBool::new(false),
        });
        let app = Router::new()
            .route("/v1/events", get(events))
            .route("/v1/usage/batches", axum::routing::post(usage_batch))
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeFeed { state, addr, _server: server }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Appends raw event JSON; returns its seq.
    pub fn push_raw(&self, event: Value) -> u64 {
        let mut events = self.state.events.lock().unwrap();
        events.push(event);
        let seq = events.len() as u64;
        self.state.head.send_replace(seq);
        seq
    }

    pub fn head(&self) -> u64 {
        self.state.events.lock().unwrap().len() as u64
    }

    fn next_seq(&self) -> u64 {
        self.head() + 1
    }

    pub fn event(seq: u64, number: E164, version: u64, route: Option<Route>) -> ChangeEvent {
        let op = if route.is_some() { Op::Upsert } else { Op::Delete };
        ChangeEvent { seq, number, version, op, route, at: OffsetDateTime::now_utc(), lineage: None, range: None }
    }

    pub fn upsert(&self, number: E164, version: u64, route: Route) -> u64 {
        let ev = FakeFeed::event(self.next_seq(), number, version, Some(route));
        self.push_raw(serde_json::to_value(ev).unwrap())
    }

    /// A range event: range `id` from `first` to `last` routes as `route`
    /// (`None`: deleted).
    pub fn range(&self, id: u64, first: E164, last: E164, version: u64, route: Option<Route>) -> u64 {
        let op = if route.is_some() { Op::RangeUpsert } else { Op::RangeDelete };
        let mut ev = FakeFeed::event(self.next_seq(), first, version, route);
        ev.op = op;
        ev.range = Some(didroute_shared::RangeRef { id, last });
        self.push_raw(serde_json::to_value(ev).unwrap())
    }

    pub fn delete(&self, number: E164, version: u64) -> u64 {
        let ev = FakeFeed::event(self.next_seq(), number, version, None);
        self.push_raw(serde_json::to_value(ev).unwrap())
    }

    pub fn set_down(&self, down: bool) {
        self.state.faults.down.store(down, Ordering::SeqCst);
    }

    /// Answers only the next `n` requests, then 503 until `set_budget(0)`.
    pub fn set_budget(&self, n: usize) {
        let used = self.requests();
        self.state.faults.budget.store(if n == 0 { 0 } else { used + n }, Ordering::SeqCst);
    }

    pub fn set_messy(&self, messy: bool) {
        self.state.faults.messy.store(messy, Ordering::SeqCst);
    }

    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::SeqCst)
    }

    pub fn unauthorized(&self) -> usize {
        self.state.unauthorized.load(Ordering::SeqCst)
    }

    /// The `after` of every authorised request so far, in order.
    pub fn afters(&self) -> Vec<u64> {
        self.state.afters.lock().unwrap().clone()
    }

    /// Usage batches accepted so far.
    pub fn usage_batches(&self) -> Vec<Value> {
        self.state.usage.lock().unwrap().clone()
    }

    /// The `Idempotency-Key` of every usage batch attempt, refused ones too.
    pub fn usage_attempts(&self) -> Vec<String> {
        self.state.usage_attempts.lock().unwrap().clone()
    }

    pub fn set_usage_down(&self, down: bool) {
        self.state.usage_down.store(down, Ordering::SeqCst);
    }

    pub fn max_seen(&self, param: &'static str) -> u64 {
        self.state.seen.lock().unwrap().get(param).copied().unwrap_or(0)
    }
}

/// A node under test with its own feed.
pub struct TestNode {
    pub feed: FakeFeed,
    pub node: Option<Node>,
    pub base: String,
    pub http: reqwest::Client,
}

pub fn config(feed: &FakeFeed) -> Config {
    Config {
        fold_interval_ms: 50,
        fold_threshold: 8,
        feed_page_limit: 3,
        feed_wait_ms: 2_000,
        ..Config::new(feed.url(), TOKEN)
    }
}

impl TestNode {
    /// Starts a node against `feed` with `config`, without waiting for it.
    pub async fn start_with(feed: FakeFeed, config: Config) -> TestNode {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let node = Node::start(&config, listener).await.unwrap();
        let base = format!("http://{}", node.local_addr());
        TestNode { feed, node: Some(node), base, http: reqwest::Client::new() }
    }

    /// Starts a node against `feed` (small pages, quick folds) and waits
    /// until it is ready.
    pub async fn ready(feed: FakeFeed) -> TestNode {
        let cfg = config(&feed);
        let t = TestNode::start_with(feed, cfg).await;
        tokio::time::timeout(Duration::from_secs(10), t.node().wait_ready()).await.expect("node became ready");
        t
    }

    pub fn node(&self) -> &Node {
        self.node.as_ref().unwrap()
    }

    pub async fn get(&self, path: &str) -> Answer {
        let response = self.http.get(format!("{}{}", self.base, path)).send().await.unwrap();
        Answer::read(response).await
    }

    /// Waits until the node has applied `seq`.
    pub async fn applied(&self, seq: u64) {
        let mut rx = self.node().app().store().subscribe();
        tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|s| *s >= seq))
            .await
            .expect("the node applied the event in time")
            .unwrap();
    }

    /// Waits until the overlay has been folded away.
    pub async fn folded(&self) {
        for _ in 0..500 {
            if self.node().app().store().load().overlay_len() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the overlay was never folded");
    }

    pub async fn stop(mut self) {
        self.node.take().unwrap().shutdown().await.unwrap();
    }

    /// Stops the node and hands its feed back, to start another node on it.
    pub async fn stop_keeping_feed(mut self) -> FakeFeed {
        self.node.take().unwrap().shutdown().await.unwrap();
        self.feed
    }
}

/// A response read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    async fn read(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap().to_vec();
        Answer { status, headers, body }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not json ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn seq(&self) -> u64 {
        self.header("didroute-seq").expect("didroute-seq header").parse().unwrap()
    }

    /// Asserts a problem+json answer with `status`; returns its body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(p["type"].as_str().unwrap().starts_with("https://didroute.dev/problems/"));
        assert!(!p["title"].as_str().unwrap().is_empty());
        assert!(!p["detail"].as_str().unwrap().is_empty());
        p
    }
}

/// Sends one request exactly as written (no client normalisation) and
/// returns the status code, or `None` if the server closed without one.
pub async fn raw_status(addr: &str, request_line_path: &[u8], method: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut req = Vec::new();
    req.extend_from_slice(method.as_bytes());
    req.push(b' ');
    req.extend_from_slice(request_line_path);
    req.extend_from_slice(b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(&req).await.ok()?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out)).await.ok()?.ok()?;
    let text = String::from_utf8_lossy(&out);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

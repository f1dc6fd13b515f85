//! Helpers for `benches/lookup-http.sh` (see there), one binary with
//! subcommands, all fed by the same realistic data set (`Dataset::generate(N,
//! 42)`, so every peer holds the same numbers and the same answers):
//!
//! - `lookup-server N ADDR KEYS_FILE [CERT KEY]`: builds a snapshot of N
//!   numbers, writes 100k of them (random, present) to KEYS_FILE for wrk,
//!   serves the real lookup HTTP server on ADDR on one thread, until killed
//!   (HTTPS with the PEM files CERT and KEY, for `benches/lookup-https.sh`;
//!   with `DIDROUTE_LOOKUP_TOKENS` set, requiring a bearer token);
//! - `bare-server ADDR BYTES`: a bare hyper server on one thread answering
//!   every request with a fixed JSON body of BYTES bytes and the same
//!   headers as a lookup (the HTTP floor);
//! - `redis-resp N`: RESP `SET n:<index, 12 digits> <answer>` for every
//!   number, for `redis-cli --pipe` (redis-benchmark draws keys as
//!   `__rand_int__`, 12 zero-padded digits);
//! - `pg-csv N`: `index,answer` CSV rows for `COPY … (FORMAT csv)`;
//! - `answer-bytes N`: the mean answer size, for the bare server's body;
//! - `soak-feed N ADDR RATE KEYS_FILE`: a stand-in for the control plane's event feed
//!   (`GET /v1/events?after=&limit=&wait_ms=`) serving N numbers as upserts,
//!   then RATE changes per second (remaps, releases, new numbers) for as
//!   long as it runs; for `benches/lookup-soak.sh`.

use std::convert::Infallible;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use didroute_benches::data::Dataset;
use didroute_lookup::snapshot::BaseBuilder;
use didroute_lookup::{App, Snapshot};
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;

fn snapshot(data: &Dataset) -> Snapshot {
    let mut b = BaseBuilder::with_capacity(data.entries.len());
    b.push_refs(
        data.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.number, &data.routes[e.route as usize], e.version, Dataset::seq_of(i))),
    );
    Snapshot::from_base(Arc::new(b.finish()), data.entries.len() as u64)
}

/// Every number's answer, in data-set order.
fn for_each_answer(n: usize, mut f: impl FnMut(usize, &[u8])) {
    let data = Dataset::generate(n, 42);
    let s = snapshot(&data);
    let mut out = Vec::with_capacity(1024);
    for (i, e) in data.entries.iter().enumerate() {
        out.clear();
        s.get(e.number).expect("every generated number routes").write_json(&mut out);
        f(i, &out);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
}

fn lookup_server(n: usize, addr: SocketAddr, keys: &str, tls: Option<didroute_net::TlsFiles>) {
    let tls = tls.map(|files| didroute_net::ServerTls::load(&files).expect("certificate and key"));
    let t = std::time::Instant::now();
    let data = Dataset::generate(n, 42);
    let s = snapshot(&data);
    let mut w = BufWriter::new(std::fs::File::create(keys).expect("keys file"));
    for k in data.sample_hits(100_000, 7) {
        writeln!(w, "{}", k.as_u64()).expect("write keys");
    }
    w.flush().expect("write keys");
    drop(data);
    eprintln!("built {} numbers in {:.1?}", s.numbers(), t.elapsed());
    // DIDROUTE_LOOKUP_TOKENS as the node reads it: what a bearer check costs
    let tokens = std::env::var("DIDROUTE_LOOKUP_TOKENS").map(|t| t.split(',').map(str::to_owned).collect());
    // DIDROUTE_LOOKUP_MAX_CONNECTIONS too: the overload benchmark (O2) sets it
    let max_connections = std::env::var("DIDROUTE_LOOKUP_MAX_CONNECTIONS")
        .ok()
        .map(|n| n.parse().expect("DIDROUTE_LOOKUP_MAX_CONNECTIONS is a number"))
        .unwrap_or(didroute_lookup::app::DEFAULT_MAX_CONNECTIONS);
    // DIDROUTE_USAGE_MAX_NUMBERS: counting usage per number (issue 21); off
    // unless set, so the other benchmarks measure the bare lookup path
    let usage = std::env::var("DIDROUTE_USAGE_MAX_NUMBERS")
        .ok()
        .map(|n| n.parse().expect("DIDROUTE_USAGE_MAX_NUMBERS is a number"))
        .unwrap_or(0);
    let app = Arc::new(
        App::with_snapshot("bench", s)
            .require_tokens(tokens.unwrap_or_default())
            .max_connections(max_connections)
            .count_usage(usage),
    );
    app.status().set_ready();
    app.status().observe(true);
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!("listening on {addr}");
        didroute_lookup::server::serve_tls(listener, app, tls, std::future::pending()).await;
    });
}

fn bare_server(addr: SocketAddr, size: usize) {
    let mut body = b"{\"number\":\"+15550001000\",\"pad\":\"".to_vec();
    body.resize(size.saturating_sub(2).max(body.len()), b'x');
    body.extend_from_slice(b"\"}");
    let body = Bytes::from(body);
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!("listening on {addr}");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_req| {
                    let mut r = Response::new(Full::new(body.clone()));
                    r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    r.headers_mut().insert("didroute-seq", HeaderValue::from(10_000_000u64));
                    async move { Ok::<_, Infallible>(r) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}

/// The soak's event log: the initial upserts, then a steady stream of changes.
struct Feed {
    events: std::sync::Mutex<Vec<didroute_shared::ChangeEvent>>,
}

fn soak_feed(n: usize, addr: SocketAddr, rate: u64, keys: &str) {
    use didroute_benches::data::Rng;
    use didroute_shared::{ChangeEvent, Op};
    let data = Dataset::generate(n, 42);
    let mut w = BufWriter::new(std::fs::File::create(keys).expect("keys file"));
    for k in data.sample_hits(100_000, 7) {
        writeln!(w, "{}", k.as_u64()).expect("write keys");
    }
    w.flush().expect("write keys");
    let at = time::OffsetDateTime::now_utc();
    // The control plane's one version sequence: every change takes the next value.
    let mut next_version = data.entries.iter().map(|e| e.version).max().unwrap_or(0);
    let events: Vec<ChangeEvent> = data
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| ChangeEvent {
            seq: Dataset::seq_of(i),
            number: e.number,
            version: e.version,
            op: Op::Upsert,
            route: Some(data.routes[e.route as usize].clone()),
            at,
            lineage: None,
            range: None,
        })
        .collect();
    let feed = Arc::new(Feed { events: std::sync::Mutex::new(events) });
    let writer = Arc::clone(&feed);
    std::thread::spawn(move || {
        let mut rng = Rng::new(99);
        let tick = std::time::Duration::from_millis(100);
        loop {
            std::thread::sleep(tick);
            let mut events = writer.events.lock().expect("feed lock");
            for _ in 0..(rate / 10).max(1) {
                let i = rng.below(data.entries.len() as u64) as usize;
                let e = data.entries[i];
                next_version += 1;
                let seq = events.len() as u64 + 1;
                // Remap to another route of the same tenant's country, or release.
                let route = data
                    .routes
                    .iter()
                    .skip(rng.below(data.routes.len() as u64) as usize)
                    .chain(data.routes.iter())
                    .find(|r| r.country.matches(&e.number))
                    .cloned();
                let (op, route) = if rng.below(5) == 0 { (Op::Delete, None) } else { (Op::Upsert, route) };
                events.push(ChangeEvent {
                    seq,
                    number: e.number,
                    version: next_version,
                    op,
                    route,
                    at: time::OffsetDateTime::now_utc(),
                    lineage: None,
                    range: None,
                });
            }
        }
    });
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
        eprintln!("soak feed on {addr}");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let feed = Arc::clone(&feed);
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let feed = Arc::clone(&feed);
                    async move {
                        let q = req.uri().query().unwrap_or("").to_owned();
                        let param = |name: &str| -> u64 {
                            q.split('&')
                                .filter_map(|p| p.split_once('='))
                                .find(|(k, _)| *k == name)
                                .and_then(|(_, v)| v.parse().ok())
                                .unwrap_or(0)
                        };
                        let (after, limit, wait_ms) =
                            (param("after"), param("limit").clamp(1, 10_000), param("wait_ms"));
                        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(wait_ms);
                        loop {
                            let head = feed.events.lock().expect("feed lock").len() as u64;
                            if head > after || std::time::Instant::now() >= deadline {
                                break;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                        let body = {
                            let events = feed.events.lock().expect("feed lock");
                            let head = events.len() as u64;
                            let from = (after as usize).min(events.len());
                            let to = (from + limit as usize).min(events.len());
                            let page = &events[from..to];
                            let last = page.last().map_or(after, |e| e.seq);
                            serde_json::to_vec(&serde_json::json!({"events": page, "last_seq": last, "head_seq": head}))
                                .expect("json")
                        };
                        let mut r = Response::new(Full::new(Bytes::from(body)));
                        r.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                        Ok::<_, Infallible>(r)
                    }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).unwrap_or_else(|| panic!("missing argument {i}; see the source's header"));
    let count = |i: usize| arg(i).replace('_', "").parse::<usize>().expect("a count");
    match args.first().map(String::as_str) {
        Some("lookup-server") => {
            let tls = args.get(5).map(|key| didroute_net::TlsFiles { cert: arg(4).into(), key: key.into() });
            lookup_server(count(1), arg(2).parse().expect("ADDR"), arg(3), tls)
        }
        Some("bare-server") => bare_server(arg(1).parse().expect("ADDR"), count(2)),
        Some("redis-resp") => {
            let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            for_each_answer(count(1), |i, body| {
                let key = format!("n:{i:012}");
                write!(w, "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n", key.len(), body.len()).expect("stdout");
                w.write_all(body).expect("stdout");
                w.write_all(b"\r\n").expect("stdout");
            });
            w.flush().expect("stdout");
        }
        Some("pg-csv") => {
            let mut w = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            for_each_answer(count(1), |i, body| {
                let quoted = String::from_utf8_lossy(body).replace('"', "\"\"");
                writeln!(w, "{i},\"{quoted}\"").expect("stdout");
            });
            w.flush().expect("stdout");
        }
        Some("answer-bytes") => {
            let (mut total, mut n) = (0usize, 0usize);
            for_each_answer(count(1), |_, body| {
                total += body.len();
                n += 1;
            });
            println!("{}", total / n.max(1));
        }
        Some("soak-feed") => soak_feed(count(1), arg(2).parse().expect("ADDR"), count(3) as u64, arg(4)),
        _ => panic!("usage: didroute-bench lookup-server|bare-server|redis-resp|pg-csv|answer-bytes|soak-feed …"),
    }
}

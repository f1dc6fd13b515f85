//! The simulator's own admin endpoint, `/_sim/...`: fault knobs and the
//! carrier-side changes didroute must discover by itself. Not authenticated:
//! the simulator is a development and test tool bound to loopback.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::state::{Counters, Faults, FaultsPatch, Sim};
use crate::stock::StockBlock;
use crate::{now, Shared};

pub fn routes(shared: Shared) -> Router {
    Router::new()
        .route("/_sim/state", get(state))
        .route("/_sim/faults", post(faults))
        .route("/_sim/disconnect", post(disconnect))
        .route("/_sim/orphans", post(orphans))
        .route("/_sim/bulk", post(bulk))
        .with_state(shared)
}

#[derive(Serialize)]
struct SimState {
    faults: Faults,
    counters: Counters,
    stock: usize,
    owned: usize,
}

fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": detail.into() }))).into_response()
}

fn body<T: for<'de> Deserialize<'de>>(raw: &[u8]) -> Result<T, String> {
    serde_json::from_slice(raw).map_err(|e| format!("invalid body: {e}"))
}

fn snapshot(sim: &Sim) -> SimState {
    SimState {
        faults: sim.faults.clone(),
        counters: sim.counters.clone(),
        stock: sim.stock_count(),
        owned: sim.owned_count(),
    }
}

async fn state(State(shared): State<Shared>) -> Json<SimState> {
    Json(snapshot(&shared.sim.lock().expect("sim lock")))
}

async fn faults(State(shared): State<Shared>, raw: axum::body::Bytes) -> Response {
    let patch: FaultsPatch = match body(&raw) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let mut sim = shared.sim.lock().expect("sim lock");
    match sim.patch_faults(patch) {
        Ok(()) => Json(snapshot(&sim)).into_response(),
        Err(e) => problem(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Disconnect {
    phone_number: String,
}

async fn disconnect(State(shared): State<Shared>, raw: axum::body::Bytes) -> Response {
    let req: Disconnect = match body(&raw) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    match shared.sim.lock().expect("sim lock").disconnect(&req.phone_number) {
        Some(_) => Json(serde_json::json!({ "disconnected": req.phone_number })).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("{} is not owned", req.phone_number)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Orphans {
    phone_numbers: Vec<String>,
}

async fn orphans(State(shared): State<Shared>, raw: axum::body::Bytes) -> Response {
    let req: Orphans = match body(&raw) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let mut sim = shared.sim.lock().expect("sim lock");
    let mut numbers = Vec::with_capacity(req.phone_numbers.len());
    for n in req.phone_numbers {
        match sim.origin_of(&n) {
            Some(origin) => numbers.push((n, origin)),
            None => {
                return problem(StatusCode::BAD_REQUEST, format!("{n} is in no stock block's country and area code"))
            }
        }
    }
    let added = sim.add_orphans(numbers, now());
    Json(serde_json::json!({ "added": added, "owned": sim.owned_count() })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Bulk {
    count: u64,
    country: String,
    ndc: String,
}

/// Adds `count` owned numbers in one country and area code, for reconciliation
/// benchmarks (a million numbers at the carrier).
async fn bulk(State(shared): State<Shared>, raw: axum::body::Bytes) -> Response {
    let req: Bulk = match body(&raw) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e),
    };
    let block = match StockBlock::new(&req.country, &req.ndc, req.count) {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let origin = Sim::bulk_origin(&block);
    let mut sim = shared.sim.lock().expect("sim lock");
    let added = sim.add_orphans(block.numbers().map(|n| (n, origin)), now());
    Json(serde_json::json!({ "added": added, "owned": sim.owned_count() })).into_response()
}

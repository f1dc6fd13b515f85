//! One function per command: build the request, print the answer.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::cli::{
    AllocateArgs, CarrierSearchArgs, CarriersCmd, Cli, Command, CreatePoolArgs, Criteria, EventsCmd, FeedTokensCmd,
    InventoryCmd, KeysCmd, LookupArgs, NumbersCmd, OrderCmd, OrphansCmd, Paging, PatchArgs, RangesCmd, ReleaseArgs,
    RemapArgs, ReserveArgs, SearchFilters, TenantsCmd, TrackingCmd, TrackingPoolsCmd, TrackingSessionCmd,
};
use crate::client::{self, segment, Client, Failure, Query, Result};
use crate::output::{self, cell, key_values, table};
use didroute_shared::wire::{
    LeavingNumbers, MatchingNumbers, NewFeedTokenRequest, NewKeyRequest, NewOrder, NewRange, NewTrackingPool,
    NewTrackingSession, OrderCriteria, PoolNumbers, Scope, TemplatesPatch, TenantPatch,
};

/// A request body from its shared wire type (plain data: always serialises).
fn body(req: &impl serde::Serialize) -> Value {
    serde_json::to_value(req).expect("a wire request serialises")
}

/// Largest page the list endpoints give.
const MAX_PAGE: u32 = 1000;
/// How long one `events tail --follow` request waits for news on the server.
const FOLLOW_WAIT_MS: u64 = 30_000;

pub async fn run(cli: &Cli, c: &Client) -> Result<()> {
    let json_out = cli.json;
    match &cli.command {
        Command::Tenants(TenantsCmd::Create { name }) => {
            let a = c.call(Method::POST, "/v1/tenants", &vec![], Some(&json!({ "name": name })), &[]).await?;
            show(json_out, &a.body, || key_values(&a.body, &["id", "name", "created_at"]));
        }
        Command::Tenants(TenantsCmd::List) => {
            let a = c.call(Method::GET, "/v1/tenants", &vec![], None, &[]).await?;
            show(json_out, &a.body, || {
                let rows = list(&a.body, "tenants").iter().map(|t| fields(t, &["id", "name", "created_at"])).collect();
                tabulate(&["id", "name", "created_at"], rows, "no tenants")
            });
        }
        Command::Tenants(TenantsCmd::Update {
            tenant_id,
            locale,
            emergency_template,
            label_template,
            default_emergency_template,
            default_label_template,
            idempotency_key,
        }) => {
            // a flag given sets, a --default-… flag sends null, neither leaves the template
            let template = |set: &Option<String>, default: bool| match (set, default) {
                (Some(t), _) => Some(Some(t.clone())),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let emergency = template(emergency_template, *default_emergency_template);
            let label = template(label_template, *default_label_template);
            let greeting_templates =
                (emergency.is_some() || label.is_some()).then_some(TemplatesPatch { emergency, label });
            let req = body(&TenantPatch { locale: locale.clone(), greeting_templates });
            let path = format!("/v1/tenants/{}", segment(tenant_id));
            let a = c.call(Method::PATCH, &path, &vec![], Some(&req), &idempotency(idempotency_key)).await?;
            show(json_out, &a.body, || {
                let t = &a.body["tenant"];
                let mut out = key_values(t, &["id", "name", "locale", "greeting_templates"]);
                if let Some(seq) = a.body["seq"].as_u64() {
                    out += &format!("re-published its allocated numbers at seq {seq}\n");
                }
                out
            });
        }
        Command::Ranges(RangesCmd::Add {
            tenant_id,
            range,
            subsystem,
            dashboard_id,
            customer_label,
            idempotency_key,
        }) => {
            let subsystem = subsystem
                .as_deref()
                .map(|s| s.parse::<didroute_shared::Subsystem>())
                .transpose()
                .map_err(|e| Failure::usage(e.to_string()))?;
            let req = body(&NewRange {
                range: range.clone(),
                subsystem,
                dashboard_id: dashboard_id.clone(),
                customer_label: customer_label.clone(),
            });
            let path = format!("/v1/tenants/{}/ranges", segment(tenant_id));
            let a = c.call(Method::POST, &path, &vec![], Some(&req), &idempotency(idempotency_key)).await?;
            let order = [
                "id",
                "tenant_id",
                "range",
                "numbers",
                "subsystem",
                "dashboard_id",
                "customer_label",
                "joined_pool",
                "seq",
            ];
            show(json_out, &a.body, || key_values(&a.body, &order));
        }
        Command::Tracking(cmd) => tracking(c, cmd, json_out).await?,
        Command::Ranges(RangesCmd::List { tenant_id }) => {
            let path = format!("/v1/tenants/{}/ranges", segment(tenant_id));
            let a = c.call(Method::GET, &path, &vec![], None, &[]).await?;
            let cols = ["id", "range", "numbers", "subsystem", "dashboard_id", "customer_label", "created_at"];
            show(json_out, &a.body, || {
                let rows = list(&a.body, "ranges").iter().map(|r| fields(r, &cols)).collect();
                tabulate(&cols, rows, "no ranges")
            });
        }
        Command::Ranges(RangesCmd::Delete { id, idempotency_key }) => {
            let path = format!("/v1/ranges/{id}");
            let a = c.call(Method::DELETE, &path, &vec![], None, &idempotency(idempotency_key)).await?;
            show(json_out, &a.body, || key_values(&a.body, &["id", "left_pool", "seq"]));
        }
        Command::Keys(KeysCmd::Create { tenant_id, read_only, expires_at }) => {
            let path = format!("/v1/tenants/{}/api-keys", segment(tenant_id));
            let scopes = read_only.then(|| vec![Scope::Read]);
            let req = body(&NewKeyRequest { scopes, expires_at: *expires_at });
            let a = c.call(Method::POST, &path, &vec![], Some(&req), &[]).await?;
            let order = ["key", "key_prefix", "id", "tenant_id", "scopes", "created_at", "expires_at"];
            show(json_out, &a.body, || key_values(&a.body, &order));
            eprintln!("didctl: the key is shown only this once; store it now");
        }
        Command::Keys(KeysCmd::List { tenant_id }) => {
            let a = c
                .call(Method::GET, &format!("/v1/tenants/{}/api-keys", segment(tenant_id)), &vec![], None, &[])
                .await?;
            let cols = ["id", "key_prefix", "scopes", "created_at", "last_used_at", "expires_at", "revoked_at"];
            show(json_out, &a.body, || {
                let rows = list(&a.body, "api_keys").iter().map(|k| fields(k, &cols)).collect();
                tabulate(&cols, rows, "no keys")
            });
        }
        Command::Keys(KeysCmd::Revoke { tenant_id, key_id }) => {
            let path = format!("/v1/tenants/{}/api-keys/{}", segment(tenant_id), segment(key_id));
            c.call(Method::DELETE, &path, &vec![], None, &[]).await?;
            let body = json!({ "id": key_id, "revoked": true });
            show(json_out, &body, || format!("revoked key {key_id}\n"));
        }
        Command::FeedTokens(FeedTokensCmd::Create { name }) => {
            let req = body(&NewFeedTokenRequest { name: name.clone() });
            let a = c.call(Method::POST, "/v1/feed-tokens", &vec![], Some(&req), &[]).await?;
            show(json_out, &a.body, || key_values(&a.body, &["token", "token_prefix", "id", "name", "created_at"]));
            eprintln!("didctl: the token is shown only this once; give it to the lookup node as DIDROUTE_FEED_TOKEN");
        }
        Command::Carriers(CarriersCmd::List) => {
            let a = c.call(Method::GET, "/v1/carriers", &vec![], None, &[]).await?;
            let cols = ["name", "kind", "base_url", "healthy", "breaker", "last_error"];
            show(json_out, &a.body, || {
                let rows = list(&a.body, "carriers").iter().map(|t| fields(t, &cols)).collect();
                tabulate(&cols, rows, "no carriers configured (DIDROUTE_CARRIERS)")
            });
        }
        Command::FeedTokens(FeedTokensCmd::List) => {
            let a = c.call(Method::GET, "/v1/feed-tokens", &vec![], None, &[]).await?;
            let cols = ["id", "name", "token_prefix", "created_at", "last_used_at", "revoked_at"];
            show(json_out, &a.body, || {
                let rows = list(&a.body, "feed_tokens").iter().map(|t| fields(t, &cols)).collect();
                tabulate(&cols, rows, "no feed tokens")
            });
        }
        Command::FeedTokens(FeedTokensCmd::Revoke { id }) => {
            c.call(Method::DELETE, &format!("/v1/feed-tokens/{}", segment(id)), &vec![], None, &[]).await?;
            let body = json!({ "id": id, "revoked": true });
            show(json_out, &body, || format!("revoked feed token {id}\n"));
        }
        Command::Import(args) => crate::import::run(c, args, json_out).await?,
        Command::Inventory(InventoryCmd::Search { filters, status, provisioning_status, tenant_id, paging }) => {
            let mut q = filter_query(filters);
            q.push(("status", status.clone()));
            q.push(("provisioning_status", provisioning_status.clone()));
            q.push(("tenant_id", tenant_id.clone()));
            let body = pages(c, "/v1/inventory", q, paging).await?;
            show(json_out, &body, || inventory_table(&body));
        }
        Command::Inventory(InventoryCmd::Patch(p)) => patch(c, p, json_out).await?,
        Command::CarrierSearch(args) => carrier_search(c, args, json_out).await?,
        Command::Order(OrderCmd::Create {
            carrier,
            numbers,
            country,
            area_code,
            contains,
            number_type,
            quantity,
            carrier_module,
            tenant_id,
            no_wait,
        }) => {
            let criteria = country.clone().map(|country| OrderCriteria {
                country,
                area_code: area_code.clone(),
                contains: contains.clone(),
                number_type: number_type.clone(),
            });
            if criteria.is_none() == numbers.is_empty() {
                return Err(Failure::usage("name numbers with --number, or criteria with --country (not both)"));
            }
            let req = body(&NewOrder {
                carrier: carrier.clone(),
                numbers: (!numbers.is_empty()).then(|| numbers.clone()),
                criteria,
                quantity: *quantity,
                carrier_module: carrier_module.clone(),
                tenant_id: *tenant_id,
            });
            let a = c.call(Method::POST, "/v1/orders", &vec![], Some(&req), &[]).await?;
            let id = a.body["order_id"].as_str().unwrap_or_default().to_owned();
            let mut view = a.body.clone();
            if !no_wait {
                view = order_view(c, &id).await?;
                while matches!(view["status"].as_str(), Some("pending" | "placed")) {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    view = order_view(c, &id).await?;
                }
            }
            show(json_out, &view, || order_text(&view));
        }
        Command::Order(OrderCmd::Show { id }) => {
            let view = order_view(c, id).await?;
            show(json_out, &view, || order_text(&view));
        }
        Command::Orphans(OrphansCmd::List) => {
            let a = c.call(Method::GET, "/v1/orphans", &vec![], None, &[]).await?;
            let cols = ["carrier", "number", "country", "number_type", "carrier_status", "monthly_cost", "currency"];
            show(json_out, &a.body, || {
                let rows = list(&a.body, "orphans").iter().map(|o| fields(o, &cols)).collect();
                let mut text = tabulate(&cols, rows, "no orphans");
                for t in list(&a.body, "monthly_cost_total") {
                    text.push_str(&format!("monthly cost: {} {}\n", cell(&t["monthly_cost"]), cell(&t["currency"])));
                }
                text
            });
        }
        Command::Orphans(OrphansCmd::Adopt { number }) => {
            let path = format!("/v1/orphans/{}/adopt", segment(number));
            let a = c.call(Method::POST, &path, &vec![], None, &[]).await?;
            show(json_out, &a.body, || {
                key_values(&a.body, &["number", "provider", "provisioning_status", "monthly_cost"])
            });
        }
        Command::Orphans(OrphansCmd::Disconnect { number }) => {
            let path = format!("/v1/orphans/{}/disconnect", segment(number));
            let a = c.call(Method::POST, &path, &vec![], None, &[]).await?;
            show(json_out, &a.body, || key_values(&a.body, &["number", "carrier", "status"]));
        }
        Command::Reconcile { latest } => {
            let report = if *latest {
                c.call(Method::GET, "/v1/reconciliations/latest", &vec![], None, &[]).await?.body
            } else {
                let a = c.call(Method::POST, "/v1/reconciliations", &vec![], None, &[]).await?;
                let id = a.body["reconciliation_id"].clone();
                loop {
                    let report = c.call(Method::GET, "/v1/reconciliations/latest", &vec![], None, &[]).await?.body;
                    let ended = matches!(report["status"].as_str(), Some("finished" | "failed"));
                    // a newer run means ours ended too
                    if report["reconciliation_id"] != id || ended {
                        break report;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            };
            let cols = ["carrier", "owned_at_carrier", "checked", "gone", "activated", "orphans", "error"];
            show(json_out, &report, || {
                let mut text =
                    key_values(&report, &["reconciliation_id", "status", "trigger", "started_at", "finished_at"]);
                let rows = list(&report, "carriers").iter().map(|r| fields(r, &cols)).collect();
                text.push_str(&tabulate(&cols, rows, "no carriers"));
                text
            });
        }
        Command::Inventory(InventoryCmd::Delete { number, force }) => {
            let force = if *force { "?force=true" } else { "" };
            c.call(Method::DELETE, &format!("/v1/inventory/{}{force}", segment(number)), &vec![], None, &[]).await?;
            let body = json!({ "number": number, "deleted": true });
            show(json_out, &body, || format!("deleted {number}\n"));
        }
        Command::Available(args) => {
            let body = pages(c, "/v1/available-numbers", filter_query(&args.filters), &args.paging).await?;
            show(json_out, &body, || available_table(&body));
        }
        Command::Reserve(args) => reserve(c, args, json_out).await?,
        Command::CancelReservation { number } => {
            let path = format!("/v1/reservations/{}", segment(number));
            let a = c.call(Method::DELETE, &path, &vec![], None, &[]).await?;
            show(json_out, &a.body, || {
                format!(
                    "cancelled the reservation of {}: {}\n{}",
                    cell(&a.body["number"]),
                    cell(&a.body["status"]),
                    seq_line(&a.body)
                )
            });
        }
        Command::Allocate(args) => allocate(c, args, json_out).await?,
        Command::Numbers(NumbersCmd::List { subsystem, status, paging }) => {
            let q = vec![("subsystem", subsystem.clone()), ("status", status.clone())];
            let body = pages(c, "/v1/numbers", q, paging).await?;
            show(json_out, &body, || numbers_table(list(&body, "numbers")) + &next_line(&body));
        }
        Command::Numbers(NumbersCmd::Get { number }) => {
            let a = c.call(Method::GET, &format!("/v1/numbers/{}", segment(number)), &vec![], None, &[]).await?;
            show(json_out, &a.body, || key_values(&a.body, VIEW_ORDER));
        }
        Command::Remap(args) => remap(c, args, json_out).await?,
        Command::Release(args) => release(c, args, json_out).await?,
        Command::Reclaim { number } => {
            let path = format!("/v1/numbers/{}/reclaim", segment(number));
            let a = c.call(Method::POST, &path, &vec![], None, &[]).await?;
            show(json_out, &a.body, || key_values(&a.body, VIEW_ORDER));
        }
        Command::History { number } => {
            let path = format!("/v1/numbers/{}/history", segment(number));
            let a = c.call(Method::GET, &path, &vec![], None, &[]).await?;
            show(json_out, &a.body, || {
                let rows = list(&a.body, "history")
                    .iter()
                    .map(|h| {
                        let mut r = fields(h, &["id", "at", "action", "actor"]);
                        r.push(h.get("detail").map_or("-".into(), |d| d.to_string()));
                        r
                    })
                    .collect();
                tabulate(&["id", "at", "action", "actor", "detail"], rows, "no history")
            });
        }
        Command::Usage(args) => {
            let path = format!("/v1/numbers/{}/usage", segment(&args.number));
            let q = vec![("bucket", Some(args.bucket.clone())), ("from", args.from.clone()), ("to", args.to.clone())];
            let a = c.call(Method::GET, &path, &q, None, &[]).await?;
            show(json_out, &a.body, || {
                let rows = list(&a.body, "buckets").iter().map(|b| fields(b, &["start", "lookups"])).collect();
                tabulate(&["start", "lookups"], rows, "no buckets") + &format!("total {}\n", cell(&a.body["total"]))
            });
        }
        Command::UsageTop(args) => {
            let q = vec![
                ("from", args.from.clone()),
                ("to", args.to.clone()),
                ("limit", args.limit.map(|l| l.to_string())),
                ("tenant_id", args.tenant.clone()),
            ];
            let a = c.call(Method::GET, "/v1/usage/top", &q, None, &[]).await?;
            show(json_out, &a.body, || {
                let rows =
                    list(&a.body, "numbers").iter().map(|n| fields(n, &["number", "lookups", "tenant_id"])).collect();
                tabulate(&["number", "lookups", "tenant"], rows, "no lookups counted in this span")
            });
        }
        Command::Lookup(args) => lookup(cli, args).await?,
        Command::Events(EventsCmd::Tail { after, follow, limit }) => {
            tail(c, after, *follow, *limit, Duration::from_secs(cli.timeout)).await?
        }
    }
    Ok(())
}

/// Prints the server's JSON, or the human rendering.
fn show(json_out: bool, body: &Value, human: impl FnOnce() -> String) {
    if json_out {
        output::json(body);
    } else {
        output::out(&human());
    }
}

fn list<'a>(body: &'a Value, key: &str) -> &'a [Value] {
    body.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn fields(v: &Value, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| cell(v.get(*k).unwrap_or(&Value::Null))).collect()
}

fn tabulate(headers: &[&str], rows: Vec<Vec<String>>, empty: &str) -> String {
    if rows.is_empty() {
        format!("{empty}\n")
    } else {
        table(headers, &rows)
    }
}

fn seq_line(body: &Value) -> String {
    match body.get("seq").and_then(Value::as_u64) {
        Some(seq) => format!("seq {seq} (lookup --min-seq {seq} reads this change)\n"),
        None => String::new(),
    }
}

/// The order of a number's fields in `key  value` listings.
const VIEW_ORDER: &[&str] = &["number", "status", "route", "last_route", "country", "seq"];

fn filter_query(f: &SearchFilters) -> Query<'static> {
    vec![
        ("country", f.country.clone()),
        ("region", f.region.clone()),
        ("area_code", f.area_code.clone()),
        ("prefix", f.prefix.clone()),
        ("contains", f.contains.clone()),
        ("number_type", f.number_type.clone()),
    ]
}

/// One page, or with `--all` every page joined as `{numbers, next_cursor: null}`.
async fn pages(c: &Client, path: &str, mut q: Query<'_>, paging: &Paging) -> Result<Value> {
    let limit = paging.limit.or(paging.all.then_some(MAX_PAGE));
    q.push(("limit", limit.map(|l| l.to_string())));
    if !paging.all {
        q.push(("cursor", paging.cursor.clone()));
        return Ok(c.call(Method::GET, path, &q, None, &[]).await?.body);
    }
    let mut numbers = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut page_q = q.clone();
        page_q.push(("cursor", cursor.clone()));
        let mut body = c.call(Method::GET, path, &page_q, None, &[]).await?.body;
        if let Some(Value::Array(items)) = body.get_mut("numbers").map(Value::take) {
            numbers.extend(items);
        }
        match body.get("next_cursor").and_then(Value::as_str) {
            Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(json!({ "numbers": numbers, "next_cursor": null }))
}

fn money(v: &Value) -> String {
    match (v.get("monthly_cost"), v.get("currency").and_then(Value::as_str)) {
        (Some(c), Some(cur)) if !c.is_null() => format!("{} {cur}", cell(c)),
        (Some(c), _) => cell(c),
        _ => "-".into(),
    }
}

fn inventory_table(body: &Value) -> String {
    let rows = list(body, "numbers")
        .iter()
        .map(|n| {
            let mut r = fields(
                n,
                &[
                    "number",
                    "status",
                    "provisioning_status",
                    "country",
                    "region",
                    "area_code",
                    "number_type",
                    "carrier_module",
                ],
            );
            r.push(money(n));
            r.extend(fields(n, &["tenant_id", "pool_tenant_id"]));
            r
        })
        .collect();
    let mut s = tabulate(
        &["number", "status", "provisioning", "country", "region", "area", "type", "module", "cost", "tenant", "pool"],
        rows,
        "no numbers",
    );
    s.push_str(&next_line(body));
    s
}

fn available_table(body: &Value) -> String {
    let rows = list(body, "numbers")
        .iter()
        .map(|n| {
            let mut r = fields(n, &["number", "country", "region", "area_code", "number_type"]);
            r.push(money(n));
            r.push(cell(n.get("private_pool").unwrap_or(&Value::Null)));
            r
        })
        .collect();
    let mut s = tabulate(&["number", "country", "region", "area", "type", "cost", "private"], rows, "no numbers");
    s.push_str(&next_line(body));
    s
}

fn next_line(body: &Value) -> String {
    match body.get("next_cursor").and_then(Value::as_str) {
        Some(c) => format!("more: --cursor {c} (or --all)\n"),
        None => String::new(),
    }
}

/// A tenant's numbers (allocated, reserved, released) as a table.
fn numbers_table(numbers: &[Value]) -> String {
    let rows = numbers
        .iter()
        .map(|n| {
            let route = match &n["route"] {
                Value::Null => &n["last_route"],
                r => r,
            };
            let until = match n["status"].as_str() {
                Some("reserved") => &n["reserved_until"],
                Some("cooldown") => &n["cooldown_until"],
                Some("aging") => &n["reclaim_until"],
                _ => &Value::Null,
            };
            let mut r = fields(n, &["number", "status"]);
            r.extend(fields(route, &["subsystem", "dashboard_id", "customer_label", "friendly_name"]));
            r.push(cell(until));
            r
        })
        .collect();
    tabulate(&["number", "status", "subsystem", "dashboard", "label", "friendly_name", "until"], rows, "no numbers")
}

/// `number`, or `criteria` and `quantity`, of a reserve or allocate body.
fn target(body: &mut Map<String, Value>, number: &Option<String>, c: &Criteria) {
    if let Some(n) = number {
        body.insert("number".into(), json!(n));
        return;
    }
    let mut crit = Map::new();
    for (k, v) in [
        ("country", &c.country),
        ("region", &c.region),
        ("area_code", &c.area_code),
        ("prefix", &c.prefix),
        ("number_type", &c.number_type),
    ] {
        if let Some(v) = v {
            crit.insert(k.into(), json!(v));
        }
    }
    body.insert("criteria".into(), Value::Object(crit));
    if let Some(q) = c.quantity {
        body.insert("quantity".into(), json!(q));
    }
}

/// What a pool or session listing shows.
const POOL_COLUMNS: [&str; 9] =
    ["id", "name", "size", "leased", "cooling", "free", "unavailable", "exhausted", "fallback_number"];
const SESSION_FIELDS: [&str; 12] = [
    "session_id",
    "number",
    "leased",
    "resumed",
    "visitor_id",
    "pool_id",
    "expires_at",
    "started_at",
    "ended_at",
    "end_reason",
    "attributes",
    "seq",
];

async fn tracking(c: &Client, cmd: &TrackingCmd, json_out: bool) -> Result<()> {
    match cmd {
        TrackingCmd::Pools(TrackingPoolsCmd::List) => {
            let a = c.call(Method::GET, "/v1/tracking-pools", &vec![], None, &[]).await?;
            show(json_out, &a.body, || {
                let rows = list(&a.body, "pools").iter().map(|p| fields(p, &POOL_COLUMNS)).collect();
                tabulate(&POOL_COLUMNS, rows, "no tracking pools")
            });
        }
        TrackingCmd::Pools(TrackingPoolsCmd::Create(args)) => {
            let CreatePoolArgs {
                name,
                number,
                criteria,
                lease_seconds,
                cooldown_seconds,
                fallback_number,
                dashboard_id,
                customer_label,
                idempotency_key,
            } = args.as_ref();
            let numbers = if number.is_empty() {
                let mut body = Map::new();
                target(&mut body, &None, criteria);
                PoolNumbers::Matching(MatchingNumbers {
                    criteria: body.remove("criteria").unwrap_or_default(),
                    quantity: criteria.quantity.unwrap_or(1),
                })
            } else {
                PoolNumbers::Named(number.clone())
            };
            let req = body(&NewTrackingPool {
                name: name.clone(),
                numbers,
                lease_seconds: *lease_seconds,
                cooldown_seconds: *cooldown_seconds,
                fallback_number: fallback_number.clone(),
                dashboard_id: dashboard_id.clone(),
                customer_label: customer_label.clone(),
            });
            let a =
                c.call(Method::POST, "/v1/tracking-pools", &vec![], Some(&req), &idempotency(idempotency_key)).await?;
            show(json_out, &a.body, || {
                key_values(&a.body, &[&POOL_COLUMNS[..], &["lease_seconds", "cooldown_seconds", "seq"]].concat())
            });
        }
        TrackingCmd::Pools(TrackingPoolsCmd::Show { id }) => {
            let a = c.call(Method::GET, &format!("/v1/tracking-pools/{}", segment(id)), &vec![], None, &[]).await?;
            show(json_out, &a.body, || {
                let head = key_values(
                    &a.body,
                    &[
                        &POOL_COLUMNS[..],
                        &["lease_seconds", "cooldown_seconds", "sessions", "dashboard_id", "customer_label"],
                    ]
                    .concat(),
                );
                let cols = ["number", "state", "session_id", "available_at"];
                let rows = list(&a.body, "numbers").iter().map(|n| fields(n, &cols)).collect();
                format!("{head}\n{}", tabulate(&cols, rows, "no numbers"))
            });
        }
        TrackingCmd::Pools(TrackingPoolsCmd::Delete { id, release, idempotency_key }) => {
            let disposition = if *release { LeavingNumbers::Release } else { LeavingNumbers::Keep };
            let numbers = serde_json::to_value(disposition).expect("an enum serialises");
            let path = format!("/v1/tracking-pools/{}", segment(id));
            let query: Query = vec![("numbers", numbers.as_str().map(str::to_owned))];
            let a = c.call(Method::DELETE, &path, &query, None, &idempotency(idempotency_key)).await?;
            show(json_out, &a.body, || key_values(&a.body, &["id", "numbers", "disposition", "sessions_ended", "seq"]));
        }
        TrackingCmd::Session(TrackingSessionCmd::Start { pool_id, visitor_id, attributes, idempotency_key }) => {
            let attributes = attributes
                .as_deref()
                .map(serde_json::from_str::<Value>)
                .transpose()
                .map_err(|e| Failure::usage(format!("--attributes is not JSON: {e}")))?;
            let req = body(&NewTrackingSession { visitor_id: visitor_id.clone(), attributes });
            let path = format!("/v1/tracking-pools/{}/sessions", segment(pool_id));
            let a = c.call(Method::POST, &path, &vec![], Some(&req), &idempotency(idempotency_key)).await?;
            show(json_out, &a.body, || key_values(&a.body, &SESSION_FIELDS));
        }
        TrackingCmd::Session(TrackingSessionCmd::Show { id }) => {
            let a = c.call(Method::GET, &format!("/v1/tracking-sessions/{}", segment(id)), &vec![], None, &[]).await?;
            show(json_out, &a.body, || key_values(&a.body, &SESSION_FIELDS));
        }
        TrackingCmd::Session(TrackingSessionCmd::Renew { id, idempotency_key }) => {
            let path = format!("/v1/tracking-sessions/{}/renew", segment(id));
            let a = c.call(Method::POST, &path, &vec![], None, &idempotency(idempotency_key)).await?;
            show(json_out, &a.body, || key_values(&a.body, &SESSION_FIELDS));
        }
        TrackingCmd::Session(TrackingSessionCmd::End { id, idempotency_key }) => {
            let path = format!("/v1/tracking-sessions/{}", segment(id));
            let a = c.call(Method::DELETE, &path, &vec![], None, &idempotency(idempotency_key)).await?;
            show(json_out, &a.body, || key_values(&a.body, &SESSION_FIELDS));
        }
    }
    Ok(())
}

fn idempotency(key: &Option<String>) -> Vec<(&'static str, &str)> {
    key.as_deref().map(|k| ("idempotency-key", k)).into_iter().collect()
}

async fn reserve(c: &Client, args: &ReserveArgs, json_out: bool) -> Result<()> {
    let mut body = Map::new();
    target(&mut body, &args.number, &args.criteria);
    if let Some(ttl) = args.ttl {
        body.insert("ttl_seconds".into(), json!(ttl));
    }
    let headers = idempotency(&args.idempotency_key);
    let a = c.call(Method::POST, "/v1/reservations", &vec![], Some(&Value::Object(body)), &headers).await?;
    show(json_out, &a.body, || numbers_table(list(&a.body, "numbers")) + &seq_line(&a.body));
    Ok(())
}

async fn allocate(c: &Client, args: &AllocateArgs, json_out: bool) -> Result<()> {
    let mut body = Map::new();
    target(&mut body, &args.number, &args.criteria);
    body.insert("subsystem".into(), json!(args.subsystem));
    body.insert("dashboard_id".into(), json!(args.dashboard_id));
    body.insert("customer_label".into(), json!(args.customer_label));
    if let Some(f) = &args.friendly_name {
        body.insert("friendly_name".into(), json!(f));
    }
    if let Some(o) = &args.organisation_id {
        body.insert("organisation_id".into(), json!(o));
    }
    if args.auto_provisioned {
        body.insert("auto_provisioned".into(), json!(true));
    }
    if let Some(t) = &args.greeting_text {
        body.insert("greeting_text".into(), json!(t));
    }
    if let Some(a) = &args.attributes {
        body.insert("attributes".into(), a.clone());
    }
    let headers = idempotency(&args.idempotency_key);
    let a = c.call(Method::POST, "/v1/numbers", &vec![], Some(&Value::Object(body)), &headers).await?;
    show(json_out, &a.body, || numbers_table(list(&a.body, "numbers")) + &seq_line(&a.body));
    Ok(())
}

async fn remap(c: &Client, args: &RemapArgs, json_out: bool) -> Result<()> {
    let mut body = Map::new();
    for (k, v) in [
        ("subsystem", &args.subsystem),
        ("dashboard_id", &args.dashboard_id),
        ("customer_label", &args.customer_label),
        ("friendly_name", &args.friendly_name),
    ] {
        if let Some(v) = v {
            body.insert(k.into(), json!(v));
        }
    }
    // null clears: the server tells it from an absent field
    if let Some(t) = &args.greeting_text {
        body.insert("greeting_text".into(), json!(t));
    } else if args.clear_greeting_text {
        body.insert("greeting_text".into(), Value::Null);
    }
    if let Some(a) = &args.attributes {
        body.insert("attributes".into(), a.clone());
    } else if args.clear_attributes {
        body.insert("attributes".into(), Value::Null);
    }
    let path = format!("/v1/numbers/{}", segment(&args.number));
    let a = c.call(Method::PATCH, &path, &vec![], Some(&Value::Object(body)), &[]).await?;
    show(json_out, &a.body, || key_values(&a.body, VIEW_ORDER));
    Ok(())
}

async fn release(c: &Client, args: &ReleaseArgs, json_out: bool) -> Result<()> {
    let mut body = json!({ "reason": args.reason });
    if let Some(n) = &args.notes {
        body["notes"] = json!(n);
    }
    let path = format!("/v1/numbers/{}/release", segment(&args.number));
    let a = c.call(Method::POST, &path, &vec![], Some(&body), &[]).await?;
    show(json_out, &a.body, || {
        let n = &a.body["number"];
        let what = if n.is_null() {
            format!("released {}: the tenant's own number was removed\n", args.number)
        } else {
            format!(
                "released {}: {} until {}; reclaim until {}\n",
                cell(&n["number"]),
                cell(&n["status"]),
                cell(&n["cooldown_until"]),
                cell(&n["reclaim_until"])
            )
        };
        what + &seq_line(&a.body)
    });
    Ok(())
}

async fn patch(c: &Client, p: &PatchArgs, json_out: bool) -> Result<()> {
    let mut body = Map::new();
    if let Some(s) = &p.provisioning_status {
        body.insert("provisioning_status".into(), json!(s));
    }
    if p.disable || p.enable {
        body.insert("disabled".into(), json!(p.disable));
    }
    if let Some(cost) = p.monthly_cost {
        body.insert("monthly_cost".into(), json!(cost));
    }
    if let Some(pr) = &p.provider {
        body.insert("provider".into(), json!(pr));
    }
    if let Some(a) = p.allow_unknown_provisioning {
        body.insert("allow_unknown_provisioning".into(), json!(a));
    }
    if body.is_empty() {
        return Err(Failure::usage(
            "nothing to change: give --provisioning-status, --disable, --enable, --monthly-cost, --provider or --allow-unknown-provisioning",
        ));
    }
    let path = format!("/v1/inventory/{}", segment(&p.number));
    let a = c.call(Method::PATCH, &path, &vec![], Some(&Value::Object(body)), &[]).await?;
    show(json_out, &a.body, || {
        key_values(&a.body["number"], &["number", "status", "provisioning_status"]) + &seq_line(&a.body)
    });
    Ok(())
}

async fn lookup(cli: &Cli, args: &LookupArgs) -> Result<()> {
    let base = client::base_url("--lookup-url", "DIDROUTE_LOOKUP_URL", &cli.lookup_url)?;
    let node = Client::new(base, None, Duration::from_secs(cli.timeout))?;
    let q = vec![("min_seq", args.min_seq.map(|s| s.to_string())), ("wait_ms", args.wait_ms.map(|w| w.to_string()))];
    let wait = Duration::from_millis(args.wait_ms.unwrap_or(1000));
    let path = format!("/v1/routes/{}", segment(&args.number));
    let a = node.call_with(Method::GET, &path, &q, None, &[], Duration::from_secs(cli.timeout) + wait, false).await?;
    show(cli.json, &a.body, || {
        let mut s = key_values(
            &a.body,
            &["number", "tenant_id", "subsystem", "dashboard_id", "customer_label", "country", "greeting"],
        );
        if let Some(seq) = a.headers.get("didroute-seq").and_then(|v| v.to_str().ok()) {
            s.push_str(&format!("answered at seq {seq}\n"));
        }
        s
    });
    Ok(())
}

/// Failures worth retrying while following the feed.
fn transient(f: &Failure) -> bool {
    matches!(f, Failure::Unreachable(_)) || f.status().is_some_and(|s| s >= 500)
}

async fn tail(c: &Client, after: &str, follow: bool, limit: u32, timeout: Duration) -> Result<()> {
    let mut after: u64 = if after == "head" {
        let q = vec![("after", Some("0".into())), ("limit", Some("1".into()))];
        let a = c.call(Method::GET, "/v1/events", &q, None, &[]).await?;
        a.body["head_seq"].as_u64().ok_or_else(|| Failure::Unreachable("the event feed sent no head_seq".into()))?
    } else {
        after.parse().map_err(|_| Failure::usage(format!("--after {after:?}: give a position (0, 1042) or `head`")))?
    };
    let wait_ms = if follow { FOLLOW_WAIT_MS } else { 0 };
    let mut backoff = Duration::from_millis(250);
    loop {
        let q = vec![
            ("after", Some(after.to_string())),
            ("limit", Some(limit.to_string())),
            ("wait_ms", Some(wait_ms.to_string())),
        ];
        let page = match c
            .call_with(Method::GET, "/v1/events", &q, None, &[], timeout + Duration::from_millis(wait_ms), true)
            .await
        {
            Ok(a) => a.body,
            Err(f) if follow && transient(&f) => {
                eprintln!("didctl: {f}; retrying in {:.1}s", backoff.as_secs_f64());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
            Err(f) => return Err(f),
        };
        backoff = Duration::from_millis(250);
        let events = list(&page, "events");
        for e in events {
            output::json_line(e);
        }
        let last = page["last_seq"].as_u64().unwrap_or(after);
        let head = page["head_seq"].as_u64().unwrap_or(last);
        after = after.max(last);
        if !follow && (events.is_empty() || after >= head) {
            return Ok(());
        }
    }
}

async fn carrier_search(c: &Client, a: &CarrierSearchArgs, json_out: bool) -> Result<()> {
    let q: Query = vec![
        ("country", Some(a.country.clone())),
        ("area_code", a.area_code.clone()),
        ("contains", a.contains.clone()),
        ("number_type", a.number_type.clone()),
        ("limit", a.limit.map(|l| l.to_string())),
    ];
    let path = format!("/v1/carriers/{}/available-numbers", segment(&a.carrier));
    let r = c.call(Method::GET, &path, &q, None, &[]).await?;
    let cols = ["number", "country", "number_type", "upfront_cost", "monthly_cost", "currency"];
    show(json_out, &r.body, || {
        let rows = list(&r.body, "numbers").iter().map(|n| fields(n, &cols)).collect();
        tabulate(&cols, rows, "nothing in the carrier's stock matches")
    });
    Ok(())
}

async fn order_view(c: &Client, id: &str) -> Result<Value> {
    Ok(c.call(Method::GET, &format!("/v1/orders/{}", segment(id)), &vec![], None, &[]).await?.body)
}

fn order_text(v: &Value) -> String {
    let mut text = key_values(v, &["order_id", "status", "carrier", "carrier_order_id", "attempts", "last_error"]);
    let rows = list(v, "numbers").iter().map(|n| fields(n, &["number", "provisioning_status"])).collect();
    text.push_str(&tabulate(&["number", "provisioning_status"], rows, "no numbers yet"));
    text
}

//! Inventory import and search (operator work).

use didroute_shared::numbering;
use didroute_shared::problem::ProblemType;
use didroute_shared::wire::{
    AvailableNumber, AvailablePage, ImportRequest, ImportResult, InventoryPage, NumbersInput, Price, Rejected,
};
use didroute_shared::{parse_ranges_in, Country, NumberRange, RangeError, E164};
use serde::Deserialize;
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use super::filter::digits_filter;
use super::idempotency::{self, Answer, Key};
use super::view::{item_from_row, ITEM_COLUMNS};
use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Most numbers one import request may add; bigger imports are split.
pub const MAX_IMPORT: u64 = 2_000_000;
/// Rows per INSERT statement.
const CHUNK: usize = 20_000;

/// What recording a range in a tenant's pool did.
enum PoolRange {
    /// A new range, with its id: it routes to the tenant (a range event).
    Added(i64),
    /// One of the tenant's ranges holds it already.
    Held,
    /// It overlaps another tenant's range.
    Overlaps,
}

/// Records `range` in `tenant`'s pool, unless one of the tenant's ranges
/// holds it already (a re-import).
async fn add_pool_range(
    tx: &mut PgConnection,
    tenant: Uuid,
    range: &NumberRange,
    country: Country,
) -> ApiResult<PoolRange> {
    let (first, last) = (range.first.as_u64() as i64, range.last.as_u64() as i64);
    let held: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pool_ranges WHERE tenant_id = $1 AND numbers @> int8range($2, $3, '[]'))",
    )
    .bind(tenant)
    .bind(first)
    .bind(last)
    .fetch_one(&mut *tx)
    .await?;
    if held {
        return Ok(PoolRange::Held);
    }
    sqlx::query("SAVEPOINT pool_range").execute(&mut *tx).await?;
    let res = sqlx::query_scalar(
        "INSERT INTO pool_ranges (tenant_id, numbers, country) VALUES ($1, int8range($2, $3, '[]'), $4) RETURNING id",
    )
    .bind(tenant)
    .bind(first)
    .bind(last)
    .bind(country.alpha2())
    .fetch_one(&mut *tx)
    .await;
    match res {
        Ok(id) => {
            sqlx::query("RELEASE SAVEPOINT pool_range").execute(&mut *tx).await?;
            Ok(PoolRange::Added(id))
        }
        // 23P01: exclusion_violation
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("23P01") => {
            sqlx::query("ROLLBACK TO SAVEPOINT pool_range").execute(&mut *tx).await?;
            Ok(PoolRange::Overlaps)
        }
        Err(e) => Err(e.into()),
    }
}

const CARRIER_MODULES: [&str; 4] = ["inventory", "managed", "local", "mdn"];
const NUMBER_TYPES: [&str; 5] = ["local", "mobile", "toll_free", "national", "shared_cost"];

/// Imports numbers in one transaction with one audit row.
pub async fn import(db: &Db, req: ImportRequest, key: Option<&Key>) -> ApiResult<Answer<ImportResult>> {
    let mut tx = db.operator.begin().await?;
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    let routes_ranges = req.tenant_id.is_some();
    let result = import_in(&mut tx, req).await?;
    idempotency::keep(&mut tx, None, key, 200, &result, None).await?;
    tx.commit().await?;
    if routes_ranges {
        // the pool's new ranges route: their events get positions now, not
        // at the next sequencing tick
        crate::outbox::sequence_all(&db.operator).await?;
    }
    Ok(Answer::Fresh(result))
}

/// Imports a CSV file (`text/csv`) in one transaction: a header row naming
/// the fields of [`ImportRequest`] (`number` or `numbers`, `country`
/// required), one number or PortSIP range per row. Rows with the same
/// attributes are imported together; a row that cannot be read is rejected
/// on its own.
pub async fn import_csv(db: &Db, body: &str, key: Option<&Key>) -> ApiResult<Answer<ImportResult>> {
    let groups = super::csv::import_groups(body)?;
    let mut total = ImportResult { imported: 0, already_present: 0, rejected: groups.rejected };
    let mut tx = db.operator.begin().await?;
    if let Some(first) = idempotency::repeat_stored(&mut tx, None, key).await? {
        return Ok(first);
    }
    for (req, lines) in groups.requests {
        match import_in(&mut tx, req).await {
            Ok(r) => {
                total.imported += r.imported;
                total.already_present += r.already_present;
                total.rejected.extend(r.rejected);
            }
            // a group the rules refuse is reported line by line, like a bad
            // line; the rest of the file still imports
            Err(ApiError::Problem(kind, reason)) if matches!(kind.status(), 400 | 422) => {
                total.rejected.extend(lines.into_iter().map(|input| Rejected { input, reason: reason.clone() }))
            }
            Err(e) => return Err(e),
        }
        if total.imported + total.already_present > MAX_IMPORT {
            return Err(ApiError::new(
                ProblemType::ImportTooLarge,
                format!("one import may add at most {MAX_IMPORT} numbers: split the file"),
            ));
        }
    }
    idempotency::keep(&mut tx, None, key, 200, &total, None).await?;
    tx.commit().await?;
    crate::outbox::sequence_all(&db.operator).await?;
    Ok(Answer::Fresh(total))
}

async fn import_in(tx: &mut PgConnection, req: ImportRequest) -> ApiResult<ImportResult> {
    // none declared: each range's numbering plan names its country
    let declared = match req.country.trim() {
        "" => None,
        c => Some(Country::parse(c).map_err(|e| ApiError::new(ProblemType::InvalidCountry, e.to_string()))?),
    };
    let carrier_module =
        req.carrier_module.as_deref().unwrap_or(if req.tenant_id.is_some() { "managed" } else { "inventory" });
    if !CARRIER_MODULES.contains(&carrier_module) {
        return Err(ApiError::new(
            ProblemType::InvalidField,
            format!("carrier_module must be one of {}", CARRIER_MODULES.join(", ")),
        ));
    }
    if carrier_module == "managed" && req.tenant_id.is_none() {
        return Err(ApiError::new(ProblemType::InvalidField, "managed numbers need the tenant_id of their pool"));
    }
    let number_type = req.number_type.as_deref().unwrap_or("local");
    if !NUMBER_TYPES.contains(&number_type) {
        return Err(ApiError::new(
            ProblemType::InvalidField,
            format!("number_type must be one of {}", NUMBER_TYPES.join(", ")),
        ));
    }
    // a Price is checked when read: not negative, at most 4 decimal places, below 100000000
    let cost = req.monthly_cost.unwrap_or(Price::ZERO);
    let currency = req.currency.as_deref().unwrap_or("USD").to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::new(ProblemType::InvalidField, "currency must be an ISO 4217 code such as USD"));
    }
    for (field, v) in [("region", &req.region), ("area_code", &req.area_code), ("provider", &req.provider)] {
        if let Some(v) = v {
            super::check_text(field, v, 100)?;
        }
    }

    let text = match req.numbers {
        NumbersInput::Text(s) => s,
        NumbersInput::List(v) => v.join(";"),
    };
    let parsed = parse_ranges_in(&text, declared);
    let mut rejected: Vec<Rejected> =
        parsed.rejected.into_iter().map(|RangeError { input, reason }| Rejected { input, reason }).collect();
    let mut accepted: Vec<(NumberRange, Country)> = Vec::new();
    let mut total: u64 = 0;
    for r in parsed.ranges {
        let input = || if r.len() == 1 { r.first.to_string() } else { format!("{}-{}", r.first, r.last) };
        match range_country(&r, declared) {
            Ok(country) => {
                total += r.len();
                if total > MAX_IMPORT {
                    return Err(ApiError::new(
                        ProblemType::ImportTooLarge,
                        format!(
                            "one import may add at most {MAX_IMPORT} numbers: split the ranges over several requests"
                        ),
                    ));
                }
                accepted.push((r, country));
            }
            Err(reason) => rejected.push(Rejected { input: input(), reason }),
        }
    }

    let mut added_ranges: Vec<(i64, NumberRange)> = Vec::new();
    if let Some(t) = req.tenant_id {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
            .bind(t)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            return Err(ApiError::new(ProblemType::UnknownTenant, format!("no tenant {t}")));
        }
        // the pool's ranges: the exclusion constraint refuses any overlap
        // with another tenant's, whatever this code does
        let mut kept = Vec::with_capacity(accepted.len());
        for (r, country) in accepted {
            match add_pool_range(tx, t, &r, country).await? {
                PoolRange::Added(id) => {
                    added_ranges.push((id, r));
                    kept.push((r, country))
                }
                PoolRange::Held => kept.push((r, country)),
                PoolRange::Overlaps => rejected
                    .push(Rejected { input: r.to_string(), reason: "overlaps another tenant's private pool".into() }),
            }
        }
        accepted = kept;
    }
    // one insert per country, each of its numbers once
    let mut by_country: std::collections::BTreeMap<Country, Vec<E164>> = std::collections::BTreeMap::new();
    for (r, country) in &accepted {
        by_country.entry(*country).or_default().extend(r.iter());
    }
    let mut numbers_total = 0u64;
    let mut imported = 0u64;
    for (country, numbers) in &mut by_country {
        numbers.sort_unstable();
        numbers.dedup();
        numbers_total += numbers.len() as u64;
        for chunk in numbers.chunks(CHUNK) {
            let texts: Vec<String> = chunk.iter().map(E164::to_string).collect();
            // area_code: NANP numbers carry theirs in digits 2-4; elsewhere it is
            // what the operator gave (numbering plans differ too much to derive it)
            let res = sqlx::query(
                "INSERT INTO numbers (e164, country, region, area_code, provider, carrier_module, number_type,
                                      monthly_cost, currency, pool_tenant_id)
                 SELECT n, $2, $3,
                        CASE WHEN n LIKE '+1%' THEN substr(n, 3, 3) ELSE $4 END,
                        coalesce($5, 'simulated'), $6, $7, $8::numeric, $9, $10
                 FROM unnest($1::text[]) AS n
                 ON CONFLICT (e164) DO NOTHING",
            )
            .bind(&texts)
            .bind(country.alpha2())
            .bind(&req.region)
            .bind(&req.area_code)
            .bind(&req.provider)
            .bind(carrier_module)
            .bind(number_type)
            .bind(cost.to_string())
            .bind(&currency)
            .bind(req.tenant_id)
            .execute(&mut *tx)
            .await?;
            imported += res.rows_affected();
        }
    }
    let already_present = numbers_total - imported;
    if let Some(t) = req.tenant_id {
        // numbers the inventory held already (public ones) join the pool
        // too, not only the new rows: the range is the tenant's now
        for (r, _) in &accepted {
            super::ranges::join_pool(tx, t, &r.first.to_string(), &r.last.to_string()).await?;
        }
    }
    // each new range routes to the tenant: its event commits with the import
    for (id, r) in &added_ranges {
        sqlx::query("SELECT didroute_emit_range($1, $2, $3)")
            .bind(id)
            .bind(r.first.to_string())
            .bind(r.last.to_string())
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query(
        "INSERT INTO audit_log (tenant_id, actor, action, detail) VALUES ($1, 'operator', 'inventory.import', $2)",
    )
    .bind(req.tenant_id)
    .bind(serde_json::json!({
        "numbers": text.chars().take(2000).collect::<String>(),
        "country": declared.map(|c| c.alpha2().to_owned()),
        "countries": by_country.keys().map(|c| c.alpha2()).collect::<Vec<_>>(),
        "carrier_module": carrier_module,
        "imported": imported,
        "already_present": already_present,
        "rejected": rejected.len(),
    }))
    .execute(&mut *tx)
    .await?;
    Ok(ImportResult { imported, already_present, rejected })
}

/// The country a range of an import belongs to, or why it is refused: both
/// ends possible numbers without a trunk prefix kept inside them
/// (`+4402079460000`: "did you mean +442079460000"), of the declared
/// country's calling code and owned by its numbering plan; with none
/// declared, the one country the plan names for both ends.
pub(super) fn range_country(r: &NumberRange, declared: Option<Country>) -> Result<Country, String> {
    for end in [r.first, r.last] {
        numbering::parse_international(&end.to_string()).map_err(|e| e.to_string())?;
    }
    match declared {
        Some(country) => {
            if !country.matches(&r.first) || !country.matches(&r.last) {
                return Err(format!("calling code does not belong to {country}"));
            }
            // a shared calling code (+1, +7, +44, ...): the numbering plan,
            // not the caller's word, says whose number it is (its greeting and
            // emergency number follow); both ends, since a range is one block
            numbering::check_country(r.first, country)
                .and_then(|()| numbering::check_country(r.last, country))
                .map_err(|e| e.to_string())?;
            Ok(country)
        }
        None => match (numbering::region_of(r.first), numbering::region_of(r.last)) {
            (Some(a), Some(b)) if a == b => Ok(a),
            (Some(a), Some(b)) => {
                Err(format!("the range spans two countries' numbering plans ({a} and {b}): split it"))
            }
            _ => Err("no numbering plan names the country of this number: give country".to_owned()),
        },
    }
}

/// Search filters shared by the operator's inventory and a tenant's
/// available numbers.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    pub country: Option<String>,
    pub region: Option<String>,
    pub area_code: Option<String>,
    /// Leading digits (`1555`, `+4420`).
    pub prefix: Option<String>,
    /// Digits anywhere in the number (vanity search).
    pub contains: Option<String>,
    pub number_type: Option<String>,
    pub status: Option<String>,
    pub provisioning_status: Option<String>,
    /// Holder or private-pool tenant (operator only).
    pub tenant_id: Option<Uuid>,
    pub limit: Option<i64>,
    /// The last number of the previous page.
    pub cursor: Option<String>,
}

/// Checked search filters, ready to bind in the order of [`SEARCH_PREDICATE`].
pub struct Search {
    country: Option<String>,
    region: Option<String>,
    area_code: Option<String>,
    prefix: Option<String>,
    contains: Option<String>,
    number_type: Option<String>,
    status: Option<String>,
    provisioning_status: Option<String>,
    tenant_id: Option<Uuid>,
    pub limit: i64,
    cursor: Option<String>,
}

const STATUSES: [&str; 6] = ["available", "reserved", "allocated", "cooldown", "aging", "disabled"];
const PROVISIONING: [&str; 5] = ["unknown", "pending", "active", "purchase_failed", "port_pending"];

impl SearchQuery {
    pub fn check(self) -> ApiResult<Search> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::new(ProblemType::InvalidQuery, "limit must be between 1 and 1000"));
        }
        let country = self
            .country
            .map(|c| Country::parse(&c).map(|c| c.alpha2().to_owned()))
            .transpose()
            .map_err(|e| ApiError::new(ProblemType::InvalidCountry, e.to_string()))?;
        let one_of = |field: &str, v: Option<String>, allowed: &[&str]| -> ApiResult<Option<String>> {
            match v {
                Some(v) if !allowed.contains(&v.as_str()) => Err(ApiError::new(
                    ProblemType::InvalidQuery,
                    format!("{field} must be one of {}", allowed.join(", ")),
                )),
                v => Ok(v),
            }
        };
        Ok(Search {
            country,
            region: self.region,
            area_code: self.area_code.as_deref().map(|a| digits_filter("area_code", a)).transpose()?,
            prefix: self.prefix.as_deref().map(|p| digits_filter("prefix", p)).transpose()?,
            contains: self.contains.as_deref().map(|c| digits_filter("contains", c)).transpose()?,
            number_type: one_of("number_type", self.number_type, &NUMBER_TYPES)?,
            status: one_of("status", self.status, &STATUSES)?,
            provisioning_status: one_of("provisioning_status", self.provisioning_status, &PROVISIONING)?,
            tenant_id: self.tenant_id,
            limit,
            cursor: self
                .cursor
                .as_deref()
                .map(E164::parse)
                .transpose()
                .map_err(|e| ApiError::new(ProblemType::InvalidQuery, format!("cursor: {e}")))?
                .map(|c| c.to_string()),
        })
    }
}

/// The filters as SQL over `numbers`, parameters $1..$10 in [`Search`] order;
/// keyset pagination on the number keeps pages stable under concurrent changes.
const SEARCH_PREDICATE: &str = "
    ($1::text IS NULL OR country = $1::bpchar)  -- char(2): compared as text, no index would serve it
    AND ($2::text IS NULL OR region = $2)
    AND ($3::text IS NULL OR area_code = $3)
    AND ($4::text IS NULL OR e164 LIKE '+' || $4 || '%')
    AND ($5::text IS NULL OR e164 LIKE '%' || $5 || '%')
    AND ($6::text IS NULL OR number_type = $6)
    AND ($7::text IS NULL OR status = $7)
    AND ($8::text IS NULL OR provisioning_status = $8)
    AND ($9::uuid IS NULL OR tenant_id = $9 OR pool_tenant_id = $9)
    AND ($10::text IS NULL OR e164 > $10)";

fn bind_search<'q>(
    q: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    s: &'q Search,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    q.bind(&s.country)
        .bind(&s.region)
        .bind(&s.area_code)
        .bind(&s.prefix)
        .bind(&s.contains)
        .bind(&s.number_type)
        .bind(&s.status)
        .bind(&s.provisioning_status)
        .bind(s.tenant_id)
        .bind(&s.cursor)
        .bind(s.limit)
}

/// The cursor of the next page: the last number of a full page.
fn next_cursor<T>(items: &[T], limit: i64, number: impl Fn(&T) -> E164) -> Option<String> {
    if items.len() as i64 == limit {
        items.last().map(|i| number(i).to_string())
    } else {
        None
    }
}

/// Every number, any status (operator).
pub async fn search(db: &Db, q: SearchQuery) -> ApiResult<InventoryPage> {
    let s = q.check()?;
    let sql = format!("SELECT {ITEM_COLUMNS} FROM numbers WHERE {SEARCH_PREDICATE} ORDER BY e164 LIMIT $11");
    let rows = bind_search(sqlx::query(&sql), &s).fetch_all(&db.operator).await?;
    let items = rows.iter().map(item_from_row).collect::<ApiResult<Vec<_>>>()?;
    Ok(InventoryPage { next_cursor: next_cursor(&items, s.limit, |i| i.number), numbers: items })
}

/// What `tenant` may take: public inventory and its own private pool.
pub async fn available(db: &Db, tenant: Uuid, mut q: SearchQuery) -> ApiResult<AvailablePage> {
    if q.status.is_some() || q.provisioning_status.is_some() || q.tenant_id.is_some() {
        return Err(ApiError::new(
            ProblemType::InvalidQuery,
            "available numbers take country, region, area_code, prefix, contains, number_type, limit and cursor",
        ));
    }
    q.status = Some("available".into());
    let s = q.check()?;
    let mut tx = db.tenant_tx(tenant).await?;
    // RLS already limits available rows to public inventory and this
    // tenant's pool; the predicate also leaves out what cannot be taken now
    let sql = format!(
        "SELECT e164, country, region, area_code, number_type, monthly_cost::text AS monthly_cost, currency,
                pool_tenant_id IS NOT NULL AS private_pool
         FROM numbers
         WHERE {SEARCH_PREDICATE} AND tenant_id IS NULL
           AND (provisioning_status = 'active' OR (provisioning_status = 'unknown' AND allow_unknown_provisioning))
         ORDER BY e164 LIMIT $11"
    );
    let rows = bind_search(sqlx::query(&sql), &s).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let e164: String = r.get("e164");
        items.push(AvailableNumber {
            number: E164::parse(&e164).map_err(|e| anyhow::anyhow!("stored number {e164}: {e}"))?,
            country: r.get("country"),
            region: r.get("region"),
            area_code: r.get("area_code"),
            number_type: r.get("number_type"),
            monthly_cost: super::price(&r, "monthly_cost")?,
            currency: r.get("currency"),
            private_pool: r.get("private_pool"),
        });
    }
    Ok(AvailablePage { next_cursor: next_cursor(&items, s.limit, |i| i.number), numbers: items })
}

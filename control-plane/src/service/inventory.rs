//! Inventory import and search (operator work).

use didroute_shared::{parse_ranges, Country, RangeError, E164};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Db;
use crate::error::{ApiError, ApiResult};

/// Most numbers one import request may add; bigger imports are split.
pub const MAX_IMPORT: u64 = 2_000_000;
/// Rows per INSERT statement.
const CHUNK: usize = 20_000;

/// `numbers` as PortSIP syntax in one string, or a list of numbers/ranges.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum NumbersInput {
    Text(String),
    List(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub numbers: NumbersInput,
    pub country: String,
    pub region: Option<String>,
    pub area_code: Option<String>,
    pub provider: Option<String>,
    pub carrier_module: Option<String>,
    pub number_type: Option<String>,
    pub monthly_cost: Option<f64>,
    pub currency: Option<String>,
    /// Puts the numbers in this tenant's private pool.
    pub tenant_id: Option<Uuid>,
}

#[derive(Debug, Serialize)]
pub struct Rejected {
    pub input: String,
    pub reason: String,
}

#[derive(Debug, Serialize)]
pub struct ImportResult {
    pub imported: u64,
    pub already_present: u64,
    pub rejected: Vec<Rejected>,
}

const CARRIER_MODULES: [&str; 4] = ["inventory", "managed", "local", "mdn"];
const NUMBER_TYPES: [&str; 5] = ["local", "mobile", "toll_free", "national", "shared_cost"];

pub async fn import(db: &Db, req: ImportRequest) -> ApiResult<ImportResult> {
    let country = Country::parse(req.country.trim()).map_err(|e| ApiError::BadRequest("invalid-country", e.to_string()))?;
    let carrier_module = req.carrier_module.as_deref().unwrap_or(if req.tenant_id.is_some() { "managed" } else { "inventory" });
    if !CARRIER_MODULES.contains(&carrier_module) {
        return Err(ApiError::BadRequest(
            "invalid-field",
            format!("carrier_module must be one of {}", CARRIER_MODULES.join(", ")),
        ));
    }
    if carrier_module == "managed" && req.tenant_id.is_none() {
        return Err(ApiError::BadRequest("invalid-field", "managed numbers need the tenant_id of their pool".into()));
    }
    let number_type = req.number_type.as_deref().unwrap_or("local");
    if !NUMBER_TYPES.contains(&number_type) {
        return Err(ApiError::BadRequest("invalid-field", format!("number_type must be one of {}", NUMBER_TYPES.join(", "))));
    }
    let cost = req.monthly_cost.unwrap_or(0.0);
    if !cost.is_finite() || !(0.0..1e8).contains(&cost) {
        return Err(ApiError::BadRequest("invalid-field", "monthly_cost must be a number from 0 to 100000000".into()));
    }
    let currency = req.currency.as_deref().unwrap_or("USD").to_ascii_uppercase();
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ApiError::BadRequest("invalid-field", "currency must be an ISO 4217 code such as USD".into()));
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
    let parsed = parse_ranges(&text);
    let mut rejected: Vec<Rejected> = parsed.rejected.into_iter().map(|RangeError { input, reason }| Rejected { input, reason }).collect();
    let mut numbers: Vec<E164> = Vec::new();
    let mut total: u64 = 0;
    for r in parsed.ranges {
        if !country.matches(&r.first) || !country.matches(&r.last) {
            rejected.push(Rejected {
                input: if r.len() == 1 { r.first.to_string() } else { format!("{}-{}", r.first, r.last) },
                reason: format!("calling code does not belong to {country}"),
            });
            continue;
        }
        total += r.len();
        if total > MAX_IMPORT {
            return Err(ApiError::Unprocessable(
                "import-too-large",
                format!("one import may add at most {MAX_IMPORT} numbers: split the ranges over several requests"),
            ));
        }
        numbers.extend(r.iter());
    }
    numbers.sort_unstable();
    numbers.dedup();

    let mut tx = db.operator.begin().await?;
    if let Some(t) = req.tenant_id {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)")
            .bind(t)
            .fetch_one(&mut *tx)
            .await?;
        if !exists {
            return Err(ApiError::Unprocessable("unknown-tenant", format!("no tenant {t}")));
        }
    }
    let mut imported = 0u64;
    for chunk in numbers.chunks(CHUNK) {
        let texts: Vec<String> = chunk.iter().map(E164::to_string).collect();
        // area_code: NANP numbers carry theirs in digits 2-4; elsewhere it is
        // what the operator gave (numbering plans differ too much to derive it)
        let res = sqlx::query(
            "INSERT INTO numbers (e164, country, region, area_code, provider, carrier_module, number_type,
                                  monthly_cost, currency, pool_tenant_id)
             SELECT n, $2, $3,
                    CASE WHEN n LIKE '+1%' THEN substr(n, 3, 3) ELSE $4 END,
                    coalesce($5, 'simulated'), $6, $7, $8::float8::numeric, $9, $10
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
        .bind(cost)
        .bind(&currency)
        .bind(req.tenant_id)
        .execute(&mut *tx)
        .await?;
        imported += res.rows_affected();
    }
    let already_present = numbers.len() as u64 - imported;
    sqlx::query("INSERT INTO audit_log (tenant_id, actor, action, detail) VALUES ($1, 'operator', 'inventory.import', $2)")
        .bind(req.tenant_id)
        .bind(serde_json::json!({
            "numbers": text.chars().take(2000).collect::<String>(),
            "country": country.alpha2(),
            "carrier_module": carrier_module,
            "imported": imported,
            "already_present": already_present,
            "rejected": rejected.len(),
        }))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(ImportResult { imported, already_present, rejected })
}

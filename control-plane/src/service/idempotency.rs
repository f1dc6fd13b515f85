//! `Idempotency-Key`: a retried or duplicated request gets the first
//! request's answer instead of a second change.
//!
//! The key row is inserted in the same transaction as the work. A concurrent
//! repeat blocks on the key's primary key until the first transaction ends:
//! if it committed, the repeat replays its stored answer; if it rolled back
//! (the request failed), the repeat runs as a fresh request.

use didroute_shared::problem::ProblemType;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// An `Idempotency-Key` and the request it came with.
#[derive(Debug, Clone)]
pub struct Key {
    pub key: String,
    /// SHA-256 of what was asked (route and body), so a reused key with a
    /// different request is refused rather than answered wrongly.
    pub request_hash: [u8; 32],
}

impl Key {
    pub fn new(key: &str, route: &str, body: &serde_json::Value) -> ApiResult<Key> {
        if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::new(
                ProblemType::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 200 visible ASCII characters",
            ));
        }
        let mut h = Sha256::new();
        h.update(route.as_bytes());
        h.update([0]);
        h.update(serde_json::to_vec(body).expect("json value serialises"));
        Ok(Key { key: key.to_owned(), request_hash: h.finalize().into() })
    }
}

/// A stored answer to replay.
#[derive(Debug)]
pub struct Stored {
    pub status: u16,
    pub response: serde_json::Value,
    pub outbox_ids: Vec<i64>,
}

impl Stored {
    /// The position of the first answer's change, read again: its outbox
    /// rows may have been sequenced only after that answer was lost. A
    /// change that wrote none answers the current head.
    pub async fn seq(&self, state: &crate::state::AppState) -> ApiResult<u64> {
        match self.outbox_ids.iter().max() {
            Some(id) => Ok(crate::outbox::sequence(&state.db.operator, *id).await?),
            None => Ok(*state.head.borrow()),
        }
    }
}

/// Claims `key` for this transaction, or returns the answer stored for it.
pub async fn begin(conn: &mut PgConnection, tenant: Uuid, key: &Key) -> ApiResult<Option<Stored>> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
         VALUES ($1, $2, $3, 0, 'null') ON CONFLICT DO NOTHING",
    )
    .bind(tenant)
    .bind(&key.key)
    .bind(&key.request_hash[..])
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT request_hash, status, response, outbox_ids FROM idempotency_keys WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tenant)
    .bind(&key.key)
    .fetch_one(&mut *conn)
    .await?;
    if row.get::<Vec<u8>, _>("request_hash") != key.request_hash {
        return Err(ApiError::new(
            ProblemType::IdempotencyKeyReused,
            "this Idempotency-Key was used with a different request; use a new key",
        ));
    }
    Ok(Some(Stored {
        status: row.get::<i16, _>("status") as u16,
        response: row.get("response"),
        outbox_ids: row.get("outbox_ids"),
    }))
}

/// Stores the answer to replay, in the transaction that did the work.
pub async fn finish(
    conn: &mut PgConnection,
    tenant: Uuid,
    key: &Key,
    status: u16,
    response: &impl Serialize,
    outbox_ids: &[i64],
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET status = $3, response = $4, outbox_ids = $5 WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tenant)
    .bind(&key.key)
    .bind(status as i16)
    .bind(sqlx::types::Json(response))
    .bind(outbox_ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The answer to a change that a key can repeat: made now, or the first
/// answer stored under the key, as it was sent (its `seq` read again from
/// the outbox rows it wrote, which may have been sequenced only after the
/// first answer was lost).
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer<T> {
    Fresh(T),
    Replayed(serde_json::Value),
}

impl<T> Answer<T> {
    /// The answer made now; callers that pass no key never see a replay.
    pub fn fresh(self) -> ApiResult<T> {
        match self {
            Answer::Fresh(t) => Ok(t),
            Answer::Replayed(_) => Err(anyhow::anyhow!("a replayed answer where no Idempotency-Key was given").into()),
        }
    }
}

/// [`begin`] when the caller sent a key: `Some(answer)` to send back as it is.
pub async fn repeat<T>(
    state: &crate::state::AppState,
    conn: &mut PgConnection,
    tenant: Uuid,
    key: Option<&Key>,
) -> ApiResult<Option<Answer<T>>> {
    let Some(key) = key else { return Ok(None) };
    let Some(stored) = begin(conn, tenant, key).await? else { return Ok(None) };
    let seq = stored.seq(state).await?;
    let mut answer = stored.response;
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("seq".to_owned(), seq.into());
    }
    Ok(Some(Answer::Replayed(answer)))
}

/// [`finish`] when the caller sent a key.
pub async fn keep(
    conn: &mut PgConnection,
    tenant: Uuid,
    key: Option<&Key>,
    status: u16,
    answer: &impl Serialize,
    outbox_id: Option<i64>,
) -> ApiResult<()> {
    match key {
        Some(key) => finish(conn, tenant, key, status, answer, &outbox_id.into_iter().collect::<Vec<_>>()).await,
        None => Ok(()),
    }
}

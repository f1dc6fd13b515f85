//! `Idempotency-Key`: a retried or duplicated request gets the first
//! request's answer instead of a second change.
//!
//! The key row is inserted in the same transaction as the work. A concurrent
//! repeat blocks on the key's unique index until the first transaction ends:
//! if it committed, the repeat replays its stored answer; if it rolled back
//! (the request failed), the repeat runs as a fresh request.
//!
//! Keys live in one of two spaces: a tenant's (its routes, on its own
//! transaction, under row-level security) or the operator's (`tenant_id`
//! NULL, operator routes on the operator pool). Entries are kept at least
//! 24 hours; the lifecycle job removes older ones ([`EXPIRE_AFTER`]).
//!
//! A credential's secret is stored only as a hash, so a route that creates
//! one cannot replay its answer: a repeat learns that the credential exists
//! ([`ProblemType::IdempotencySecretNotReplayable`]) instead.

use didroute_shared::problem::ProblemType;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, Row};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// How long an entry is kept at least; the lifecycle job removes it after.
pub const EXPIRE_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Whose key space an entry is in: `Some(tenant)`, or `None` for the operator.
pub type Owner = Option<Uuid>;

/// The row of `owner`'s `key`: `$1` the tenant (NULL for the operator), `$2` the key.
fn owned(owner: Owner) -> &'static str {
    match owner {
        Some(_) => "tenant_id = $1 AND key = $2",
        // $1 is still bound (NULL), so both forms take the same parameters
        None => "tenant_id IS NULL AND $1::uuid IS NULL AND key = $2",
    }
}

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
        Key::of_bytes(key, route, &serde_json::to_vec(body).expect("json value serialises"))
    }

    /// [`Key::new`] over a body as it was sent (an import's file, hashed
    /// without building a JSON value of it first).
    pub fn of_bytes(key: &str, route: &str, body: &[u8]) -> ApiResult<Key> {
        if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiError::new(
                ProblemType::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 200 visible ASCII characters",
            ));
        }
        let mut h = Sha256::new();
        h.update(route.as_bytes());
        h.update([0]);
        h.update(body);
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
pub async fn begin(conn: &mut PgConnection, owner: Owner, key: &Key) -> ApiResult<Option<Stored>> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (tenant_id, key, request_hash, status, response)
         VALUES ($1, $2, $3, 0, 'null') ON CONFLICT DO NOTHING",
    )
    .bind(owner)
    .bind(&key.key)
    .bind(&key.request_hash[..])
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(None);
    }
    let row = sqlx::query(&format!(
        "SELECT request_hash, status, response, outbox_ids FROM idempotency_keys WHERE {}",
        owned(owner)
    ))
    .bind(owner)
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
    owner: Owner,
    key: &Key,
    status: u16,
    response: &impl Serialize,
    outbox_ids: &[i64],
) -> ApiResult<()> {
    sqlx::query(&format!(
        "UPDATE idempotency_keys SET status = $3, response = $4, outbox_ids = $5 WHERE {}",
        owned(owner)
    ))
    .bind(owner)
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
    /// The answer as its type, replayed or not (GraphQL, which returns typed
    /// objects rather than JSON as it was sent).
    pub fn typed(self) -> ApiResult<T>
    where
        T: serde::de::DeserializeOwned,
    {
        match self {
            Answer::Fresh(t) => Ok(t),
            Answer::Replayed(v) => serde_json::from_value(v)
                .map_err(|e| anyhow::anyhow!("stored answer of an Idempotency-Key: {e}").into()),
        }
    }
}

/// [`begin`] when the caller sent a key: `Some(answer)` to send back as it is.
pub async fn repeat<T>(
    state: &crate::state::AppState,
    conn: &mut PgConnection,
    owner: Owner,
    key: Option<&Key>,
) -> ApiResult<Option<Answer<T>>> {
    let Some(key) = key else { return Ok(None) };
    let Some(stored) = begin(conn, owner, key).await? else { return Ok(None) };
    let mut answer = stored.response.clone();
    // only an answer that carried a position gets it read again: a null
    // `seq` (nothing routed changed) and answers without one stay as sent
    if let Some(seq) = answer.as_object_mut().and_then(|f| f.get_mut("seq")).filter(|v| !v.is_null()) {
        *seq = stored.seq(state).await?.into();
    }
    Ok(Some(Answer::Replayed(answer)))
}

/// [`repeat`] for answers without a position (`seq`), replayed exactly as
/// stored: operator work on tenants, credentials and imports.
pub async fn repeat_stored<T>(
    conn: &mut PgConnection,
    owner: Owner,
    key: Option<&Key>,
) -> ApiResult<Option<Answer<T>>> {
    let Some(key) = key else { return Ok(None) };
    Ok(begin(conn, owner, key).await?.map(|stored| Answer::Replayed(stored.response)))
}

/// [`finish`] when the caller sent a key.
pub async fn keep(
    conn: &mut PgConnection,
    owner: Owner,
    key: Option<&Key>,
    status: u16,
    answer: &impl Serialize,
    outbox_id: Option<i64>,
) -> ApiResult<()> {
    match key {
        Some(key) => finish(conn, owner, key, status, answer, &outbox_id.into_iter().collect::<Vec<_>>()).await,
        None => Ok(()),
    }
}

/// For a route that creates a credential (`kind`, listed at `listing`):
/// claims `key`, or refuses the repeat with 409 naming the credential made
/// the first time, as [`keep_created`] stored it.
pub async fn refuse_secret_repeat(
    conn: &mut PgConnection,
    key: Option<&Key>,
    kind: &str,
    listing: &str,
) -> ApiResult<()> {
    let Some(key) = key else { return Ok(()) };
    let Some(stored) = begin(conn, None, key).await? else { return Ok(()) };
    let field = |name: &str| stored.response[name].as_str().unwrap_or("?").to_owned();
    Err(ApiError::new(
        ProblemType::IdempotencySecretNotReplayable,
        format!(
            "{kind} {} ({}) was already created with this Idempotency-Key; list it with {listing}, its secret is not shown again",
            field("id"),
            field("prefix"),
        ),
    ))
}

/// What a credential route keeps for its key in place of the answer:
/// which credential it made, never the secret.
pub async fn keep_created(conn: &mut PgConnection, key: Option<&Key>, id: Uuid, prefix: &str) -> ApiResult<()> {
    keep(conn, None, key, 201, &serde_json::json!({ "id": id, "prefix": prefix }), None).await
}

/// Removes entries older than [`EXPIRE_AFTER`], a batch at a time; returns
/// how many went.
pub async fn expire(pool: &sqlx::PgPool, batch: i64) -> Result<u64, sqlx::Error> {
    crate::db::delete_in_batches(
        pool,
        "DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
             SELECT ctid FROM idempotency_keys WHERE created_at < now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT $2))",
        EXPIRE_AFTER,
        batch,
    )
    .await
}

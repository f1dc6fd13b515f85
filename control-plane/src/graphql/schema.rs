//! Queries and mutations. Every resolver checks who is calling, then calls
//! the service layer, exactly as the REST handler of the same operation does.

use didroute_shared::problem::ProblemType;
use std::sync::OnceLock;

use async_graphql::{Context, EmptySubscription, MaybeUndefined, Object, Schema};
use didroute_shared::wire::graphql::DB_COST;
use didroute_shared::wire::{
    AvailablePage, Cancelled, Claimed, InventoryPage, NewRange, NumberChanged, NumberView, NumbersPage, RangeDeleted,
    RangeView, Released, TemplatesPatch, Tenant, TenantPatch, TenantUpdated,
};
use didroute_shared::wire::{BucketSize, NumberUsage, UsageTop};
use didroute_shared::wire::{
    LeavingNumbers, MatchingNumbers, NewTrackingPool, NewTrackingSession, PoolNumbers, ShrinkBy, ShrinkQuantity,
    TrackingPoolDeleted, TrackingPoolPatch, TrackingPoolView, TrackingSession,
};
use didroute_shared::Subsystem;
use uuid::Uuid;

use super::types::*;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::claim::{self, Action, Target};
use crate::service::filter::parse_number;
use crate::service::idempotency::Key;
use crate::service::numbers::{self, ListFilter, ReleaseInput, RemapInput};
use crate::service::{inventory, ranges, tenants, tracking, usage};
use crate::state::AppState;

pub type DidrouteSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Deepest selection accepted. The schema itself nests at most four levels
/// (`numbers { numbers { route { greeting } } }`); the rest is room for
/// introspection (`ofType { ofType { … } }`), which GraphQL tools send.
pub const MAX_DEPTH: usize = 15;

/// Largest complexity accepted. Every field costs 1; a field that reads the
/// database costs [`DB_COST`] more; a list costs its page size (or quantity)
/// times its selection. A page of 100 numbers with all their fields and
/// routes fits; a page of 1,000 with every field, or history per number for
/// a page of 1,000, does not: ask for fewer fields or a smaller page.
pub const MAX_COMPLEXITY: usize = 20_000;

/// Page size when `limit` is not given: the service's default.
const DEFAULT_LIMIT: i64 = 100;

/// The complexity of a page of `limit` items (invalid limits are refused by
/// the service; here they are only clamped so the arithmetic stays sane).
fn page(limit: Option<i64>, child: usize) -> usize {
    DB_COST + limit.unwrap_or(DEFAULT_LIMIT).clamp(1, 1000) as usize * child
}

/// The schema, built once.
pub fn schema() -> &'static DidrouteSchema {
    static SCHEMA: OnceLock<DidrouteSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        Schema::build(QueryRoot, MutationRoot, EmptySubscription)
            .limit_depth(MAX_DEPTH)
            .limit_complexity(MAX_COMPLEXITY)
            .limit_directives(8)
            .data(history_source())
            .finish()
    })
}

fn state<'a>(ctx: &Context<'a>) -> Result<&'a AppState, ApiError> {
    ctx.data::<AppState>().map_err(|_| ApiError::Internal(anyhow::anyhow!("graphql request without AppState")))
}

fn principal(ctx: &Context<'_>) -> Result<Principal, ApiError> {
    ctx.data::<Principal>()
        .copied()
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("graphql request without a Principal")))
}

/// The calling tenant, or FORBIDDEN for the operator token (as `auth::Tenant`).
pub(super) fn tenant<'a>(ctx: &Context<'a>) -> Result<(&'a AppState, Uuid), ApiError> {
    match principal(ctx)? {
        Principal::Tenant { id, .. } => Ok((state(ctx)?, id)),
        Principal::Operator => {
            Err(ApiError::new(ProblemType::Forbidden, "this field acts for a tenant: use one of the tenant's API keys"))
        }
        Principal::Feed => Err(ApiError::new(ProblemType::Forbidden, crate::auth::FEED_ONLY)),
    }
}

/// The calling tenant for a mutation: as [`tenant`], and the key must have
/// the `write` scope (as `auth::Tenant` on REST's POST, PATCH and DELETE).
/// Every mutation resolver starts here; `graphql.rs` tries each mutation the
/// schema lists with a read-only key.
fn writer<'a>(ctx: &Context<'a>) -> Result<(&'a AppState, Uuid), ApiError> {
    match principal(ctx)? {
        Principal::Tenant { write: false, .. } => Err(ApiError::new(ProblemType::Forbidden, crate::auth::NEEDS_WRITE)),
        _ => tenant(ctx),
    }
}

/// The operator, or FORBIDDEN for a tenant key (as `auth::Operator`).
fn operator<'a>(ctx: &Context<'a>) -> Result<&'a AppState, ApiError> {
    match principal(ctx)? {
        Principal::Operator => state(ctx),
        Principal::Tenant { .. } | Principal::Feed => {
            Err(ApiError::new(ProblemType::Forbidden, "this field needs the operator token"))
        }
    }
}

/// The operator or a tenant (usage reads serve both).
fn usage_caller(ctx: &Context<'_>) -> Result<Principal, ApiError> {
    match principal(ctx)? {
        Principal::Feed => Err(ApiError::new(ProblemType::Forbidden, crate::auth::FEED_ONLY)),
        who => Ok(who),
    }
}

/// A nullable argument as the service's "absent, null or a value".
fn tri_state<T>(v: MaybeUndefined<T>) -> Option<Option<T>> {
    match v {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// `quantity` for the service, which checks its range.
fn to_quantity(q: Option<i64>) -> Option<u32> {
    q.map(|q| q.clamp(0, u32::MAX as i64) as u32)
}

/// An `Idempotency-Key` for a mutation: the same key space as REST,
/// hashed with the mutation's name and arguments, so reusing a key with other
/// arguments (or for a REST request) is refused as `UNPROCESSABLE`.
fn claim_key(key: Option<&str>, operation: &str, args: serde_json::Value) -> Result<Option<Key>, ApiError> {
    key.map(|k| Key::new(k, operation, &args)).transpose()
}

/// A tracking pool's numbers from GraphQL arguments: named `numbers`, or
/// `criteria` and `quantity`, as REST's `numbers` field takes them.
fn pool_numbers(
    field: &str,
    numbers: Option<Vec<String>>,
    criteria: Option<claim::Criteria>,
    quantity: Option<i64>,
) -> Result<Option<PoolNumbers>, ApiError> {
    match (numbers, criteria) {
        (Some(list), None) if quantity.is_none() => Ok(Some(PoolNumbers::Named(list))),
        (None, Some(c)) => Ok(Some(PoolNumbers::Matching(MatchingNumbers {
            criteria: serde_json::to_value(c).map_err(anyhow::Error::from)?,
            quantity: to_quantity(quantity.or(Some(1))).unwrap_or(1),
        }))),
        (None, None) if quantity.is_none() => Ok(None),
        _ => Err(ApiError::new(
            ProblemType::InvalidBody,
            format!("{field}: give numbers, or criteria and a quantity, not both"),
        )),
    }
}

/// Seconds for the service, which checks their range.
fn to_seconds(v: i64) -> u32 {
    v.clamp(0, u32::MAX as i64) as u32
}

pub struct QueryRoot;

#[Object(name = "Query")]
impl QueryRoot {
    /// This tenant's numbers (reserved, allocated, cooldown, aging), paged by number.
    #[graphql(complexity = "page(limit, child_complexity)")]
    async fn numbers(
        &self,
        ctx: &Context<'_>,
        filter: Option<NumbersFilter>,
        #[graphql(desc = "1 to 1000, default 100")] limit: Option<i64>,
        #[graphql(desc = "the nextCursor of the previous page")] cursor: Option<String>,
    ) -> async_graphql::Result<NumbersPage> {
        let (s, t) = tenant(ctx)?;
        let filter = filter.unwrap_or_default();
        let f = ListFilter { subsystem: filter.subsystem, status: filter.status, limit, cursor };
        Ok(numbers::list(s, t, f).await?)
    }

    /// One of this tenant's numbers with its route (and, if asked, its history).
    /// Another tenant's number is NOT_FOUND, exactly like one that does not exist.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn number(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "E.164 (`+15551234567`), or bare international digits")] number: String,
    ) -> async_graphql::Result<NumberView> {
        let (s, t) = tenant(ctx)?;
        Ok(numbers::get(s, t, parse_number(&number)?).await?)
    }

    /// What this tenant may take: public inventory and its own private pool, with cost.
    #[graphql(complexity = "page(limit, child_complexity)")]
    async fn available_numbers(
        &self,
        ctx: &Context<'_>,
        filter: Option<AvailableFilter>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<AvailablePage> {
        let (s, t) = tenant(ctx)?;
        let q = filter.unwrap_or_default().query(limit, cursor);
        Ok(inventory::available(&s.db, t, q).await?)
    }

    /// This tenant's tracking pools, oldest first.
    #[graphql(complexity = "page(None, child_complexity)")]
    async fn tracking_pools(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TrackingPoolView>> {
        let (s, t) = tenant(ctx)?;
        Ok(tracking::list(s, t).await?)
    }

    /// One of this tenant's tracking pools with its numbers; another
    /// tenant's is NOT_FOUND.
    #[graphql(complexity = "page(None, child_complexity)")]
    async fn tracking_pool(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<TrackingPoolView> {
        let (s, t) = tenant(ctx)?;
        Ok(tracking::get(s, t, id).await?)
    }

    /// One of this tenant's tracking sessions, live or ended.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn tracking_session(&self, ctx: &Context<'_>, id: Uuid) -> async_graphql::Result<TrackingSession> {
        let (s, t) = tenant(ctx)?;
        Ok(tracking::session(s, t, id).await?)
    }

    /// Every tenant (operator).
    #[graphql(complexity = "page(None, child_complexity)")]
    async fn tenants(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Tenant>> {
        let s = operator(ctx)?;
        Ok(tenants::list(&s.db).await?)
    }

    /// A tenant's range routes, oldest first (operator).
    #[graphql(complexity = "page(None, child_complexity)")]
    async fn ranges(&self, ctx: &Context<'_>, tenant_id: Uuid) -> async_graphql::Result<Vec<RangeView>> {
        let s = operator(ctx)?;
        Ok(ranges::list(&s.db, tenant_id).await?)
    }

    /// Successful lookups of a number per hour or day (`GET
    /// /v1/numbers/{number}/usage`): a tenant's own, every tenant's summed
    /// for the operator.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn usage(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "E.164 (`+15551234567`), or bare international digits")] number: String,
        #[graphql(desc = "HOUR (default) or DAY")] bucket: Option<BucketSize>,
        #[graphql(desc = "RFC 3339 start, widened to its bucket")] from: Option<String>,
        #[graphql(desc = "RFC 3339 end (exclusive), default now")] to: Option<String>,
    ) -> async_graphql::Result<NumberUsage> {
        let who = usage_caller(ctx)?;
        let span = usage::Span::parse(from.as_deref(), to.as_deref())?;
        let bucket = bucket.unwrap_or(BucketSize::Hour);
        Ok(usage::number_usage(&state(ctx)?.db, who, parse_number(&number)?, bucket, span).await?)
    }

    /// The busiest numbers of a span (`GET /v1/usage/top`): the tenant's, or
    /// for the operator every tenant's or `tenantId`'s.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn usage_top(
        &self,
        ctx: &Context<'_>,
        from: Option<String>,
        to: Option<String>,
        #[graphql(desc = "1 to 1000, default 10")] limit: Option<i64>,
        tenant_id: Option<Uuid>,
    ) -> async_graphql::Result<UsageTop> {
        let who = usage_caller(ctx)?;
        let span = usage::Span::parse(from.as_deref(), to.as_deref())?;
        Ok(usage::top(&state(ctx)?.db, who, tenant_id, span, limit).await?)
    }

    /// Every number in any status (operator), paged by number.
    #[graphql(complexity = "page(limit, child_complexity)")]
    async fn inventory(
        &self,
        ctx: &Context<'_>,
        filter: Option<InventoryFilter>,
        limit: Option<i64>,
        cursor: Option<String>,
    ) -> async_graphql::Result<InventoryPage> {
        let s = operator(ctx)?;
        let q = filter.unwrap_or_default().query(limit, cursor);
        Ok(inventory::search(&s.db, q).await?)
    }
}

pub struct MutationRoot;

#[Object(name = "Mutation")]
impl MutationRoot {
    /// Sets a tenant's locale and greeting templates (operator); a template
    /// given as null goes back to the locale's default. Its allocated
    /// numbers are re-published with the new greetings (`seq`).
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn update_tenant(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        locale: Option<String>,
        emergency_template: MaybeUndefined<String>,
        label_template: MaybeUndefined<String>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<TenantUpdated> {
        let s = operator(ctx)?;
        let emergency = tri_state(emergency_template);
        let label = tri_state(label_template);
        let greeting_templates =
            (emergency.is_some() || label.is_some()).then_some(TemplatesPatch { emergency, label });
        let patch = TenantPatch { locale, greeting_templates };
        let args = serde_json::json!({ "id": id, "patch": patch });
        let key = claim_key(idempotency_key.as_deref(), "graphql updateTenant", args)?;
        Ok(tenants::update(s, id, &patch, key.as_ref()).await?.typed()?)
    }

    /// Creates a range route for a tenant (operator): `range` in PortSIP
    /// syntax; the range's inventory numbers join the tenant's pool and it
    /// routes to the tenant (`seq`: its event).
    #[graphql(complexity = "DB_COST + child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn add_range(
        &self,
        ctx: &Context<'_>,
        tenant_id: Uuid,
        range: String,
        subsystem: Option<Subsystem>,
        dashboard_id: Option<String>,
        customer_label: Option<String>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<RangeView> {
        let s = operator(ctx)?;
        let req = NewRange { range, subsystem, dashboard_id, customer_label };
        let args = serde_json::json!({ "tenant_id": tenant_id, "range": req });
        let key = claim_key(idempotency_key.as_deref(), "graphql addRange", args)?;
        Ok(ranges::create(s, tenant_id, &req, key.as_ref()).await?.typed()?)
    }

    /// Deletes a range route (operator): it stops routing, its available
    /// numbers leave the pool.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn delete_range(
        &self,
        ctx: &Context<'_>,
        id: i64,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<RangeDeleted> {
        let s = operator(ctx)?;
        let key = claim_key(idempotency_key.as_deref(), "graphql deleteRange", serde_json::json!({ "id": id }))?;
        Ok(ranges::delete(s, id, key.as_ref()).await?.typed()?)
    }

    /// Allocates one named number, or `quantity` numbers matching `criteria`
    /// (all or nothing), routed as `route`. With `idempotencyKey`, a repeat
    /// answers as the first call did and changes nothing.
    #[graphql(complexity = "DB_COST + quantity.unwrap_or(1).clamp(1, 1000) as usize * child_complexity")]
    async fn allocate(
        &self,
        ctx: &Context<'_>,
        number: Option<String>,
        criteria: Option<claim::Criteria>,
        quantity: Option<i64>,
        route: numbers::RouteInput,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Claimed> {
        let (s, t) = writer(ctx)?;
        let args = serde_json::json!({ "number": number, "criteria": criteria, "quantity": quantity, "route": route });
        let target = Target::from_fields(number.as_deref(), criteria, to_quantity(quantity))?;
        let key = claim_key(idempotency_key.as_deref(), "graphql allocate", args)?;
        Ok(claim::claim(s, t, target, Action::Allocate(route), key).await?)
    }

    /// Reserves one named number, or `quantity` numbers matching `criteria`,
    /// for `ttlSeconds` (default 30 minutes).
    #[graphql(complexity = "DB_COST + quantity.unwrap_or(1).clamp(1, 1000) as usize * child_complexity")]
    async fn reserve(
        &self,
        ctx: &Context<'_>,
        number: Option<String>,
        criteria: Option<claim::Criteria>,
        quantity: Option<i64>,
        ttl_seconds: Option<i64>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Claimed> {
        let (s, t) = writer(ctx)?;
        let args = serde_json::json!({
            "number": number, "criteria": criteria, "quantity": quantity, "ttl_seconds": ttl_seconds
        });
        let target = Target::from_fields(number.as_deref(), criteria, to_quantity(quantity))?;
        let action = Action::reserve(ttl_seconds)?;
        let key = claim_key(idempotency_key.as_deref(), "graphql reserve", args)?;
        Ok(claim::claim(s, t, target, action, key).await?)
    }

    /// Cancels this tenant's reservation of `number`. With `idempotencyKey`,
    /// a repeat answers as the first call did and changes nothing.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn cancel_reservation(
        &self,
        ctx: &Context<'_>,
        number: String,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Cancelled> {
        let (s, t) = writer(ctx)?;
        let number = parse_number(&number)?;
        let key = claim_key(
            idempotency_key.as_deref(),
            "graphql cancelReservation",
            serde_json::json!({ "number": number }),
        )?;
        Ok(claim::cancel_reservation(s, t, number, key.as_ref()).await?.typed()?)
    }

    /// Changes an allocated number's routing in place (at least one field).
    /// With `idempotencyKey`, a repeat answers as the first call did.
    #[graphql(complexity = "DB_COST + child_complexity")]
    // each GraphQL argument is a parameter: the schema's shape, not a design choice
    #[allow(clippy::too_many_arguments)]
    async fn remap(
        &self,
        ctx: &Context<'_>,
        number: String,
        subsystem: Option<Subsystem>,
        dashboard_id: Option<String>,
        customer_label: Option<String>,
        friendly_name: Option<String>,
        #[graphql(desc = "the number's own greeting; null clears it")] greeting_text: MaybeUndefined<String>,
        #[graphql(desc = "a JSON object of at most 1 KiB, replaced whole; null clears it")] attributes: MaybeUndefined<
            serde_json::Value,
        >,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<NumberChanged> {
        let (s, t) = writer(ctx)?;
        let number = parse_number(&number)?;
        let input = RemapInput {
            subsystem,
            dashboard_id,
            customer_label,
            friendly_name,
            greeting_text: tri_state(greeting_text),
            attributes: tri_state(attributes),
        };
        let args = serde_json::json!({ "number": number, "input": input });
        let key = claim_key(idempotency_key.as_deref(), "graphql remap", args)?;
        Ok(numbers::remap(s, t, number, &input, key.as_ref()).await?.typed()?)
    }

    /// Releases an allocated number to cooldown (deleted for `local`/`mdn`
    /// numbers); lookups stop resolving it.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn release(
        &self,
        ctx: &Context<'_>,
        number: String,
        reason: String,
        notes: Option<String>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<Released> {
        let (s, t) = writer(ctx)?;
        let number = parse_number(&number)?;
        let args = serde_json::json!({ "number": number, "reason": reason, "notes": notes });
        let key = claim_key(idempotency_key.as_deref(), "graphql release", args)?;
        Ok(numbers::release(s, t, number, &ReleaseInput { reason, notes }, key.as_ref()).await?.typed()?)
    }

    /// Takes back a number this tenant released, with its last route, while
    /// it is aging.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn reclaim(
        &self,
        ctx: &Context<'_>,
        number: String,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<NumberChanged> {
        let (s, t) = writer(ctx)?;
        let number = parse_number(&number)?;
        let key = claim_key(idempotency_key.as_deref(), "graphql reclaim", serde_json::json!({ "number": number }))?;
        Ok(numbers::reclaim(s, t, number, key.as_ref()).await?.typed()?)
    }
    /// Creates a tracking pool from named `numbers`, or `quantity` numbers
    /// matching `criteria`: they are allocated to this tenant with
    /// subsystem `tracking`.
    #[graphql(complexity = "DB_COST + child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn create_tracking_pool(
        &self,
        ctx: &Context<'_>,
        name: String,
        numbers: Option<Vec<String>>,
        criteria: Option<claim::Criteria>,
        quantity: Option<i64>,
        lease_seconds: i64,
        cooldown_seconds: i64,
        fallback_number: Option<String>,
        dashboard_id: Option<String>,
        customer_label: Option<String>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<TrackingPoolView> {
        let (s, t) = writer(ctx)?;
        let numbers = pool_numbers("numbers", numbers, criteria, quantity)?.ok_or_else(|| {
            ApiError::new(ProblemType::InvalidBody, "numbers: give numbers, or criteria and a quantity")
        })?;
        let req = NewTrackingPool {
            name,
            numbers,
            lease_seconds: to_seconds(lease_seconds),
            cooldown_seconds: to_seconds(cooldown_seconds),
            fallback_number,
            dashboard_id,
            customer_label,
        };
        let key = claim_key(idempotency_key.as_deref(), "graphql createTrackingPool", serde_json::json!(req))?;
        Ok(tracking::create(s, t, &req, key.as_ref()).await?.typed()?)
    }

    /// Changes a tracking pool: name, timings, fallback (null removes it);
    /// grows it (`growNumbers`, or `growCriteria` and `growQuantity`) or
    /// shrinks it (`shrinkNumbers`, or `shrinkQuantity` unleased numbers),
    /// the removed numbers kept or released (`removed`).
    #[graphql(complexity = "DB_COST + child_complexity")]
    #[allow(clippy::too_many_arguments)]
    async fn update_tracking_pool(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        name: Option<String>,
        lease_seconds: Option<i64>,
        cooldown_seconds: Option<i64>,
        fallback_number: MaybeUndefined<String>,
        grow_numbers: Option<Vec<String>>,
        grow_criteria: Option<claim::Criteria>,
        grow_quantity: Option<i64>,
        shrink_numbers: Option<Vec<String>>,
        shrink_quantity: Option<i64>,
        removed: Option<LeavingNumbers>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<TrackingPoolView> {
        let (s, t) = writer(ctx)?;
        let shrink = match (shrink_numbers, shrink_quantity) {
            (Some(list), None) => Some(ShrinkBy::Named(list)),
            (None, Some(q)) => Some(ShrinkBy::Quantity(ShrinkQuantity { quantity: to_quantity(Some(q)).unwrap_or(0) })),
            (None, None) => None,
            _ => {
                return Err(
                    ApiError::new(ProblemType::InvalidBody, "give shrinkNumbers or shrinkQuantity, not both").into()
                )
            }
        };
        let patch = TrackingPoolPatch {
            name,
            lease_seconds: lease_seconds.map(to_seconds),
            cooldown_seconds: cooldown_seconds.map(to_seconds),
            fallback_number: tri_state(fallback_number),
            grow: pool_numbers("grow", grow_numbers, grow_criteria, grow_quantity)?,
            shrink,
            removed,
        };
        let args = serde_json::json!({ "id": id, "patch": patch });
        let key = claim_key(idempotency_key.as_deref(), "graphql updateTrackingPool", args)?;
        Ok(tracking::update(s, t, id, &patch, key.as_ref()).await?.typed()?)
    }

    /// Deletes a tracking pool: live sessions end; its numbers stay this
    /// tenant's (`keep`, the default) or are released.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn delete_tracking_pool(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        numbers: Option<LeavingNumbers>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<TrackingPoolDeleted> {
        let (s, t) = writer(ctx)?;
        let disposition = numbers.unwrap_or_default();
        let args = serde_json::json!({ "id": id, "numbers": disposition });
        let key = claim_key(idempotency_key.as_deref(), "graphql deleteTrackingPool", args)?;
        Ok(tracking::delete(s, t, id, disposition, key.as_ref()).await?.typed()?)
    }

    /// Starts a web session in a tracking pool: the least recently used free
    /// number, the visitor's live session again (`resumed`), or the pool's
    /// fallback number when it is exhausted (`leased: false`).
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn start_tracking_session(
        &self,
        ctx: &Context<'_>,
        pool_id: Uuid,
        visitor_id: String,
        attributes: Option<serde_json::Value>,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<TrackingSession> {
        let (s, t) = writer(ctx)?;
        let req = NewTrackingSession { visitor_id, attributes };
        let args = serde_json::json!({ "pool_id": pool_id, "session": req });
        let key = claim_key(idempotency_key.as_deref(), "graphql startTrackingSession", args)?;
        Ok(tracking::start(s, t, pool_id, &req, key.as_ref()).await?.typed()?)
    }

    /// Extends a live tracking session by its pool's lease.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn renew_tracking_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<TrackingSession> {
        let (s, t) = writer(ctx)?;
        let key =
            claim_key(idempotency_key.as_deref(), "graphql renewTrackingSession", serde_json::json!({ "id": id }))?;
        Ok(tracking::renew(s, t, id, key.as_ref()).await?.typed()?)
    }

    /// Ends a live tracking session: its number cools down, then is free.
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn end_tracking_session(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        idempotency_key: Option<String>,
    ) -> async_graphql::Result<TrackingSession> {
        let (s, t) = writer(ctx)?;
        let key = claim_key(idempotency_key.as_deref(), "graphql endTrackingSession", serde_json::json!({ "id": id }))?;
        Ok(tracking::end(s, t, id, key.as_ref()).await?.typed()?)
    }
}

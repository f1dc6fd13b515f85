//! The API's wire types, each defined once: the control plane serves them
//! (REST and GraphQL), the lookup node and didctl read them. OpenAPI and
//! GraphQL derives sit behind the `utoipa` and `graphql` features, so the
//! lookup node builds without either.

pub mod carrier;
pub mod feed;
#[cfg(feature = "graphql")]
pub mod graphql;
pub mod history;
pub mod import;
pub mod lookup;
pub mod money;
pub mod number;
pub mod order;
pub mod range;
pub mod tenant;
pub mod tracking;
pub mod usage;

pub use carrier::{CarrierView, Carriers};
pub use feed::FeedPage;
pub use history::{History, HistoryEntry};
pub use import::{ImportRequest, ImportResult, NumbersInput, Rejected, CSV_COLUMNS};
pub use money::{Price, PriceError, PRICE_PATTERN, PRICE_SCALE};
pub use number::{
    AvailableNumber, AvailablePage, Cancelled, Claimed, InventoryItem, InventoryPage, NumberChanged, NumberView,
    NumbersPage, Patched, Released,
};
pub use order::{
    CarrierNumber, CarrierNumbers, CarrierReconciliation, NewOrder, OrderAccepted, OrderCriteria, OrderView,
    OrderedNumber, Orphan, OrphanCost, OrphanDisconnect, Orphans, ReconciliationAccepted, ReconciliationView,
};
pub use range::{NewRange, RangeDeleted, RangeView, Ranges};
pub use tenant::{
    ApiKey, ApiKeys, FeedToken, FeedTokens, GreetingTemplates, NewFeedToken, NewFeedTokenRequest, NewKey,
    NewKeyRequest, Scope, TemplatesPatch, Tenant, TenantPatch, TenantUpdated, Tenants,
};
pub use tracking::{
    LeavingNumbers, MatchingNumbers, NewTrackingPool, NewTrackingSession, PoolNumbers, ShrinkBy, ShrinkQuantity,
    TrackingNumber, TrackingPoolDeleted, TrackingPoolPatch, TrackingPoolView, TrackingPools, TrackingSession,
};
pub use usage::{
    BucketSize, NumberUsage, TopNumber, UsageBatch, UsageBatchAccepted, UsageBucket, UsageCount, UsageTop,
    MAX_BATCH_COUNTS, USAGE_TOPIC,
};

/// A price as GraphQL shows it: its decimal text.
#[cfg(feature = "graphql")]
fn price_text(p: Price) -> String {
    p.to_string()
}

/// A number as GraphQL shows it: its E.164 text.
#[cfg(feature = "graphql")]
fn e164_text(n: crate::E164) -> String {
    n.to_string()
}

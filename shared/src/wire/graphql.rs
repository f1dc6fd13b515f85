//! The GraphQL fields that are computed rather than stored: a route's
//! country and greeting, and a number's history, which the server that
//! builds the schema looks up through [`HistorySource`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_graphql::{ComplexObject, Context};

use super::{HistoryEntry, NumberView};
use crate::{Greeting, Route, E164};

/// What a database round trip costs in a GraphQL complexity budget.
pub const DB_COST: usize = 20;

/// A boxed future, as [`HistorySource`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Reads a number's audit trail for the caller of a GraphQL request: the
/// server puts one in the request's data as `Arc<dyn HistorySource>`.
pub trait HistorySource: Send + Sync {
    fn history<'a>(
        &'a self,
        ctx: &'a Context<'_>,
        number: E164,
    ) -> BoxFuture<'a, async_graphql::Result<Vec<HistoryEntry>>>;
}

#[ComplexObject]
impl Route {
    /// ISO 3166-1 alpha-2.
    async fn country(&self) -> &str {
        self.country.alpha2()
    }

    /// The route's attributes for voice AI (a JSON object), if set.
    #[graphql(name = "attributes")]
    async fn attributes_field(&self) -> Option<serde_json::Value> {
        self.attributes.clone().map(serde_json::Value::Object)
    }

    /// The greeting a caller hears: the final text, placeholders filled in.
    #[graphql(name = "greeting")]
    async fn greeting_field(&self) -> Greeting {
        self.greeting()
    }
}

#[ComplexObject]
impl NumberView {
    /// The audit trail of this number as the tenant may see it (its own entries).
    #[graphql(complexity = "DB_COST + child_complexity")]
    async fn history(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<HistoryEntry>> {
        let source = ctx.data::<Arc<dyn HistorySource>>()?;
        source.history(ctx, self.number).await
    }
}

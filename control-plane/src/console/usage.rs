//! The console's one seam to usage analytics (issue 21 point 1, built
//! elsewhere): what the numbers table's sparkline, a number's chart and the
//! busiest-numbers list are drawn from. [`NoUsage`] answers nothing yet, so
//! the pages say "no usage data"; wiring the usage service in means one
//! `UsageSource` implementation set in [`super::Console`].

use maud::{html, Markup};
use uuid::Uuid;

use didroute_shared::E164;

/// One bucket of lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// Start of the bucket, RFC 3339.
    pub start: String,
    pub lookups: u64,
}

/// Where the console reads usage from.
pub trait UsageSource: Send + Sync {
    /// The last 24 hourly buckets of `number` for `tenant`, oldest first;
    /// empty when nothing is known.
    fn last_day(&self, tenant: Uuid, number: E164) -> Vec<Bucket>;
    /// The tenant's busiest numbers over the last day, busiest first.
    fn busiest(&self, tenant: Uuid, limit: usize) -> Vec<(E164, u64)>;
}

/// No usage data yet.
pub struct NoUsage;

impl UsageSource for NoUsage {
    fn last_day(&self, _: Uuid, _: E164) -> Vec<Bucket> {
        Vec::new()
    }
    fn busiest(&self, _: Uuid, _: usize) -> Vec<(E164, u64)> {
        Vec::new()
    }
}

/// Buckets as bars; the busiest one marked (the busy hour).
pub fn chart(buckets: &[Bucket], label: &str) -> Markup {
    let max = buckets.iter().map(|b| b.lookups).max().unwrap_or(0);
    html! {
        @if max == 0 {
            p.usage-empty { "No usage data" }
        } @else {
            div.chart role="img" aria-label=(label) {
                @for b in buckets {
                    @let pct = b.lookups * 100 / max;
                    span class=[(b.lookups == max).then_some("busy")] style={ "height:" (pct.max(1)) "%" }
                        title={ (b.start) ": " (b.lookups) " lookups" } {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_says_so_and_the_busy_hour_is_marked() {
        assert!(chart(&[], "x").into_string().contains("No usage data"));
        let b = |l| Bucket { start: "t".into(), lookups: l };
        let html = chart(&[b(1), b(4), b(2)], "usage").into_string();
        assert_eq!(html.matches("class=\"busy\"").count(), 1, "{html}");
        assert!(html.contains("height:100%"), "{html}");
    }
}

//! The command line: flags, environment variables, subcommands.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Printed at the end of `didctl --help`; README.md repeats it.
pub const EXIT_CODES: &str = "\
Exit codes (stable; scripts may rely on them):
  0  success
  1  usage or configuration error, unreadable input file (nothing was sent, or didctl stopped before the server answered)
  2  the server refused the request (4xx other than those below: 400 bad input, 401 bad token, 403 wrong token kind, ...)
  3  not found (404)
  4  conflict (409): taken, not in a state that allows it, still allocated, ...
  5  unprocessable (422): pool exhausted, not allocatable, ...; also `import` when some inputs were rejected
  6  server error (5xx), unreachable server, or an answer didctl cannot read

On error the server's problem is printed to stderr as `title: detail`.";

/// didroute command line for operators and tenant admins.
///
/// Talks to the control plane's REST API (and, for `lookup`, to a lookup node).
/// Operator commands (tenants, keys, import, inventory, events) need the
/// operator token; tenant commands (available, reserve, allocate, numbers,
/// remap, release, reclaim, history) need one of the tenant's API keys.
/// Tables for people by default; `--json` prints the server's JSON as is.
#[derive(Debug, Parser)]
#[command(name = "didctl", version, after_help = EXIT_CODES, max_term_width = 120)]
pub struct Cli {
    /// Control-plane base URL, http:// or https:// (an operator's own CA:
    /// DIDROUTE_CA_FILE).
    #[arg(
        long,
        env = "DIDROUTE_URL",
        default_value = "http://127.0.0.1:8080",
        global = true,
        help_heading = "Global options"
    )]
    pub url: String,

    /// Bearer token: the operator token, or a tenant API key (drk_…).
    #[arg(long, env = "DIDROUTE_TOKEN", hide_env_values = true, global = true, help_heading = "Global options")]
    pub token: Option<String>,

    /// Lookup-node base URL (for `lookup`), http:// or https://.
    #[arg(
        long,
        env = "DIDROUTE_LOOKUP_URL",
        default_value = "http://127.0.0.1:8081",
        global = true,
        help_heading = "Global options"
    )]
    pub lookup_url: String,

    /// Print the server's JSON instead of tables (for scripts).
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// Seconds to wait for each answer from the server.
    #[arg(long, env = "DIDROUTE_TIMEOUT", default_value_t = 120, global = true, help_heading = "Global options", value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create and list tenants (operator token).
    #[command(subcommand)]
    Tenants(TenantsCmd),
    /// Create, list and revoke tenant API keys (operator token).
    #[command(subcommand)]
    Keys(KeysCmd),
    /// Add, list and delete tenants' range routes (operator token).
    #[command(subcommand)]
    Ranges(RangesCmd),
    /// Tracking pools and the web sessions that lease their numbers: dynamic number insertion (tenant key).
    #[command(subcommand)]
    Tracking(TrackingCmd),
    /// Create, list and revoke lookup nodes' feed tokens (operator token).
    #[command(subcommand)]
    FeedTokens(FeedTokensCmd),
    /// The carriers the control plane is configured with, and their health (operator token).
    #[command(subcommand)]
    Carriers(CarriersCmd),
    /// Search a carrier's stock, with prices (operator token).
    CarrierSearch(CarrierSearchArgs),
    /// Order numbers from a carrier and follow the order (operator token).
    #[command(subcommand)]
    Order(OrderCmd),
    /// Numbers carriers bill for that the inventory does not hold: list, adopt, disconnect (operator token).
    #[command(subcommand)]
    Orphans(OrphansCmd),
    /// Reconcile every carrier with the inventory now and show the report (operator token).
    Reconcile {
        /// Only show the latest report; start no run.
        #[arg(long)]
        latest: bool,
    },
    /// Import numbers into the inventory from a PortSIP or CSV file (operator token).
    Import(ImportArgs),
    /// Search, update and delete inventory numbers (operator token).
    #[command(subcommand)]
    Inventory(InventoryCmd),
    /// Numbers this tenant may take: public inventory and its private pool (tenant key).
    Available(AvailableArgs),
    /// Reserve a number, or any QUANTITY numbers matching criteria (tenant key).
    Reserve(ReserveArgs),
    /// Cancel this tenant's reservation of a number (tenant key).
    CancelReservation {
        /// The reserved number (+15551234567, 15551234567).
        number: String,
    },
    /// Allocate a number, or any QUANTITY numbers matching criteria, with its route (tenant key).
    Allocate(AllocateArgs),
    /// List this tenant's numbers or show one (tenant key).
    #[command(subcommand)]
    Numbers(NumbersCmd),
    /// Change an allocated number's routing in place (tenant key).
    Remap(RemapArgs),
    /// Release an allocated number to cooldown (tenant key).
    Release(ReleaseArgs),
    /// Take back a number this tenant released, while it is aging (tenant key).
    Reclaim {
        /// The released number.
        number: String,
    },
    /// A number's audit trail, as this tenant may see it (tenant key).
    History {
        /// The number.
        number: String,
    },
    /// Successful lookups of a number per hour or day, as lookup nodes counted
    /// them (tenant key: its own; operator token: every tenant's).
    Usage(UsageArgs),
    /// The busiest numbers of a span (tenant key: its own; operator token:
    /// every tenant's, or --tenant's).
    UsageTop(UsageTopArgs),
    /// Look a number's route up on a lookup node (no token needed).
    Lookup(LookupArgs),
    /// Read the change-event feed (operator token).
    #[command(subcommand)]
    Events(EventsCmd),
}

#[derive(Debug, Subcommand)]
pub enum TenantsCmd {
    /// Create a tenant.
    Create {
        /// The tenant's name (unique).
        name: String,
    },
    /// List every tenant.
    List,
    /// Set a tenant's locale and greeting templates (operator). Templates
    /// may use {emergency_number} and {label}; the tenant's allocated
    /// numbers are re-published with the new greetings.
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true)
        .args(["locale", "emergency_template", "label_template", "default_emergency_template",
               "default_label_template"])))]
    Update {
        /// The tenant's id.
        tenant_id: String,
        /// BCP 47 tag, e.g. es or pt-BR (default greetings: en, es, fr, de, pt, it, ja).
        #[arg(long)]
        locale: Option<String>,
        /// What PSAP lines say, e.g. "{emergency_number}, what is your emergency?".
        #[arg(long, value_name = "TEMPLATE", conflicts_with = "default_emergency_template")]
        emergency_template: Option<String>,
        /// What every other line says, e.g. "Thank you for calling {label}.".
        #[arg(long, value_name = "TEMPLATE", conflicts_with = "default_label_template")]
        label_template: Option<String>,
        /// Go back to the locale's default emergency template.
        #[arg(long)]
        default_emergency_template: bool,
        /// Go back to the locale's default label template.
        #[arg(long)]
        default_label_template: bool,
        /// Makes a retried request answer like the first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TrackingCmd {
    /// Create, list, show and delete tracking pools.
    #[command(subcommand)]
    Pools(TrackingPoolsCmd),
    /// Start, show, renew and end a visitor's session.
    #[command(subcommand)]
    Session(TrackingSessionCmd),
}

#[derive(Debug, Subcommand)]
pub enum TrackingPoolsCmd {
    /// This tenant's tracking pools: size, leased, cooling, free, fallbacks.
    List,
    /// Create a pool from named numbers (--number, repeated) or QUANTITY
    /// numbers matching criteria; they are allocated to this tenant.
    Create(Box<CreatePoolArgs>),
    /// One pool with its numbers and their states.
    Show {
        /// The pool's id.
        id: String,
    },
    /// Delete a pool: live sessions end; its numbers stay this tenant's, or are released with --release.
    Delete {
        /// The pool's id.
        id: String,
        /// Release the numbers instead of keeping them.
        #[arg(long)]
        release: bool,
        /// Makes a retried request answer like the first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

/// `tracking pools create`.
#[derive(Debug, Args)]
pub struct CreatePoolArgs {
    /// The pool's name (unique among this tenant's pools).
    pub name: String,
    /// A number to take (repeat for more); or give --country and criteria.
    #[arg(long = "number")]
    pub number: Vec<String>,
    #[command(flatten)]
    pub criteria: Criteria,
    /// How long a session holds its number unless renewed (1 to 86400).
    #[arg(long, value_name = "SECONDS")]
    pub lease_seconds: u32,
    /// How long a number rests after a session (0 to 86400).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub cooldown_seconds: u32,
    /// The number an exhausted pool hands out.
    #[arg(long)]
    pub fallback_number: Option<String>,
    /// Which dashboard shows the numbers' calls (default "tracking").
    #[arg(long)]
    pub dashboard_id: Option<String>,
    /// The numbers' customer-facing name (default: the pool's name).
    #[arg(long)]
    pub customer_label: Option<String>,
    /// Makes a retried request answer like the first.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TrackingSessionCmd {
    /// Start a session: the number to show this visitor (or the fallback).
    Start {
        /// The pool's id.
        pool_id: String,
        /// The visitor (a cookie or analytics id); the same visitor gets its live session back.
        visitor_id: String,
        /// What to attribute the call to, a JSON object: '{"utm_source":"google"}'.
        #[arg(long, value_name = "JSON")]
        attributes: Option<String>,
        /// Makes a retried request answer like the first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// One session, live or ended.
    Show {
        /// The session's id.
        id: String,
    },
    /// Extend a live session by its pool's lease.
    Renew {
        /// The session's id.
        id: String,
        /// Makes a retried request answer like the first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// End a session: its number cools down, then is free again.
    End {
        /// The session's id.
        id: String,
        /// Makes a retried request answer like the first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RangesCmd {
    /// Give a tenant a range route (PortSIP DID range): its numbers without
    /// an allocation of their own route to the tenant, and those of the
    /// inventory join its private pool.
    Add {
        /// The tenant's id.
        tenant_id: String,
        /// The range in PortSIP syntax, e.g. 15550001000-15550001999.
        range: String,
        /// psap, utilities, document_telephony or mdoc (default utilities).
        #[arg(long)]
        subsystem: Option<String>,
        /// Which dashboard shows the range's calls (default "default").
        #[arg(long)]
        dashboard_id: Option<String>,
        /// The customer-facing name (default: the tenant's name).
        #[arg(long)]
        customer_label: Option<String>,
        /// Makes a retried request answer like the first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List a tenant's range routes.
    List {
        /// The tenant's id.
        tenant_id: String,
    },
    /// Delete a range route (split or re-assign with delete and add).
    Delete {
        /// The range's id.
        id: i64,
        /// Makes a retried request answer like the first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// Create an API key for a tenant; the key is shown once.
    Create {
        /// The tenant's id.
        tenant_id: String,
        /// A key that may only read (GET): every change is refused.
        #[arg(long)]
        read_only: bool,
        /// When the key stops working (RFC 3339, e.g. 2027-01-31T00:00:00Z).
        #[arg(long, value_parser = parse_rfc3339)]
        expires_at: Option<time::OffsetDateTime>,
    },
    /// List a tenant's keys (never the keys themselves).
    List {
        /// The tenant's id.
        tenant_id: String,
    },
    /// Revoke one of a tenant's keys (revoking it again is fine).
    Revoke {
        /// The tenant's id.
        tenant_id: String,
        /// The key's id (from `keys list`).
        key_id: String,
    },
}

#[derive(Debug, Args)]
pub struct CarrierSearchArgs {
    /// The carrier's name (`didctl carriers list`).
    pub carrier: String,
    /// ISO 3166-1 alpha-2 country.
    #[arg(long)]
    pub country: String,
    #[arg(long)]
    pub area_code: Option<String>,
    /// Digits the number contains.
    #[arg(long)]
    pub contains: Option<String>,
    /// local, mobile, toll_free, national or shared_cost.
    #[arg(long)]
    pub number_type: Option<String>,
    /// At most this many (1 to 1000).
    #[arg(long)]
    pub limit: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum OrderCmd {
    /// Order named numbers (--number, repeated) or QUANTITY numbers matching criteria; waits until it ends.
    Create {
        /// The carrier's name.
        #[arg(long)]
        carrier: String,
        /// A number to order (as `carrier-search` found it); repeat for more.
        #[arg(long = "number")]
        numbers: Vec<String>,
        /// Criteria: ISO country (instead of --number).
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        area_code: Option<String>,
        #[arg(long)]
        contains: Option<String>,
        #[arg(long)]
        number_type: Option<String>,
        /// With criteria: how many numbers (1 to 100).
        #[arg(long)]
        quantity: Option<u32>,
        /// inventory (default) or managed (with --tenant-id).
        #[arg(long)]
        carrier_module: Option<String>,
        /// The tenant whose private pool the numbers enter.
        #[arg(long)]
        tenant_id: Option<uuid::Uuid>,
        /// Return once the order is accepted, without waiting for the carrier.
        #[arg(long)]
        no_wait: bool,
    },
    /// Show an order, its numbers and its job's attempts.
    Show {
        /// The order's id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrphansCmd {
    /// List orphans with their monthly cost, as the last reconciliation found them.
    List,
    /// Take an orphan into the inventory (active, at its carrier's price).
    Adopt { number: String },
    /// Release an orphan at its carrier.
    Disconnect { number: String },
}

#[derive(Debug, Subcommand)]
pub enum CarriersCmd {
    /// List the configured carriers with their breaker state and last error.
    List,
}

#[derive(Debug, Subcommand)]
pub enum FeedTokensCmd {
    /// Create a feed token for a lookup node (DIDROUTE_FEED_TOKEN); shown once.
    Create {
        /// What the token is for, e.g. the node's name.
        #[arg(long)]
        name: Option<String>,
    },
    /// List every feed token (never the tokens themselves).
    List,
    /// Revoke a feed token (revoking it again is fine).
    Revoke {
        /// The token's id (from `feed-tokens list`).
        id: String,
    },
}

/// A JSON value given on the command line; what it must be (an object of at
/// most 1 KiB) is the server's rule, checked there.
fn parse_json(s: &str) -> std::result::Result<serde_json::Value, String> {
    serde_json::from_str(s).map_err(|e| format!("not JSON ({e}), e.g. '{{\"voice\": \"alloy\"}}'"))
}

fn parse_rfc3339(s: &str) -> std::result::Result<time::OffsetDateTime, String> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("not an RFC 3339 time ({e}), e.g. 2027-01-31T00:00:00Z"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// `.csv` files, or a first line that starts with a `number` column; PortSIP otherwise.
    Auto,
    /// One or more numbers or ranges per line, separated by `;`, newlines or commas:
    /// `15550001000-15550001999;4420790000`.
    Portsip,
    /// A header row, then one number or range per row. Columns: number (required), country,
    /// region, area_code, provider, carrier_module, number_type, monthly_cost, currency, tenant_id.
    Csv,
}

/// Number attributes: for a PortSIP file they apply to every number; for a
/// CSV file they fill in columns that are absent or empty.
#[derive(Debug, Clone, Default, Args)]
pub struct ImportAttrs {
    /// ISO 3166-1 alpha-2 country; without it (and without a CSV column) each
    /// range gets the country its numbering plan names.
    #[arg(long)]
    pub country: Option<String>,
    /// Region (state, county, city) the numbers are searched by.
    #[arg(long)]
    pub region: Option<String>,
    /// Area code (derived from the number for NANP numbers).
    #[arg(long)]
    pub area_code: Option<String>,
    /// Carrier the numbers come from (default: simulated).
    #[arg(long)]
    pub provider: Option<String>,
    /// inventory, managed, local or mdn.
    #[arg(long)]
    pub carrier_module: Option<String>,
    /// local, mobile, toll_free, national or shared_cost.
    #[arg(long)]
    pub number_type: Option<String>,
    /// Monthly cost of each number, a decimal such as 1.25 (default 0).
    #[arg(long)]
    pub monthly_cost: Option<didroute_shared::wire::Price>,
    /// ISO 4217 code, e.g. USD (default USD).
    #[arg(long)]
    pub currency: Option<String>,
    /// Put the numbers in this tenant's private pool.
    #[arg(long = "tenant", value_name = "TENANT_ID")]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file to import.
    pub file: PathBuf,
    /// How to read FILE.
    #[arg(long, value_enum, default_value_t = ImportFormat::Auto)]
    pub format: ImportFormat,
    #[command(flatten)]
    pub attrs: ImportAttrs,
    /// Most numbers sent in one request; big files stream in batches of this size.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_size: u64,
    /// No progress bar on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Filters shared by inventory search and available numbers.
#[derive(Debug, Clone, Default, Args)]
pub struct SearchFilters {
    /// ISO 3166-1 alpha-2 country.
    #[arg(long)]
    pub country: Option<String>,
    /// Region (state, county, city).
    #[arg(long)]
    pub region: Option<String>,
    /// Area code (NANP: digits 2-4 of the number).
    #[arg(long)]
    pub area_code: Option<String>,
    /// Leading digits (1555, +4420).
    #[arg(long)]
    pub prefix: Option<String>,
    /// Digits anywhere in the number (vanity search).
    #[arg(long)]
    pub contains: Option<String>,
    /// local, mobile, toll_free, national or shared_cost.
    #[arg(long)]
    pub number_type: Option<String>,
}

/// Paging of list endpoints.
#[derive(Debug, Clone, Default, Args)]
pub struct Paging {
    /// Page size (1 to 1000; the server's default is 100, 1000 with --all).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Start after this number (the `next_cursor` of a previous page).
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Follow `next_cursor` and print every page.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCmd {
    /// Search every number, any status.
    Search {
        #[command(flatten)]
        filters: SearchFilters,
        /// available, reserved, allocated, cooldown, aging or disabled.
        #[arg(long)]
        status: Option<String>,
        /// unknown, pending, active, purchase_failed or port_pending.
        #[arg(long)]
        provisioning_status: Option<String>,
        /// Numbers held by, or in the private pool of, this tenant.
        #[arg(long = "tenant", value_name = "TENANT_ID")]
        tenant_id: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// Update a number: provisioning status, block/unblock, cost, provider.
    Patch(PatchArgs),
    /// Delete a number for good (refused while allocated or reserved); an
    /// inventory or managed number of a configured carrier is released there.
    Delete {
        /// The number.
        number: String,
        /// Also a number its tenant may still reclaim (cooldown, aging).
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct PatchArgs {
    /// The number.
    pub number: String,
    /// unknown, pending, active, purchase_failed or port_pending.
    #[arg(long)]
    pub provisioning_status: Option<String>,
    /// Block the number (withdrawing its route).
    #[arg(long, conflicts_with = "enable")]
    pub disable: bool,
    /// Unblock a disabled number back to available.
    #[arg(long)]
    pub enable: bool,
    /// The new monthly cost, a decimal such as 1.25.
    #[arg(long)]
    pub monthly_cost: Option<didroute_shared::wire::Price>,
    /// The new provider.
    #[arg(long)]
    pub provider: Option<String>,
    /// Let the number be allocated while its provisioning is `unknown`.
    #[arg(long, value_name = "BOOL")]
    pub allow_unknown_provisioning: Option<bool>,
}

#[derive(Debug, Args)]
pub struct AvailableArgs {
    #[command(flatten)]
    pub filters: SearchFilters,
    #[command(flatten)]
    pub paging: Paging,
}

/// "Any QUANTITY numbers matching": the criteria of reserve and allocate.
#[derive(Debug, Clone, Default, Args)]
pub struct Criteria {
    /// Take numbers of this country (ISO 3166-1 alpha-2) instead of a named NUMBER.
    #[arg(long, required_unless_present = "number", conflicts_with = "number")]
    pub country: Option<String>,
    /// Region (state, county, city).
    #[arg(long, requires = "country")]
    pub region: Option<String>,
    /// Area code (NANP: digits 2-4 of the number).
    #[arg(long, requires = "country")]
    pub area_code: Option<String>,
    /// Leading digits (1555, +4420).
    #[arg(long, requires = "country")]
    pub prefix: Option<String>,
    /// local, mobile, toll_free, national or shared_cost.
    #[arg(long, requires = "country")]
    pub number_type: Option<String>,
    /// How many numbers (all or nothing).
    #[arg(long, requires = "country")]
    pub quantity: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ReserveArgs {
    /// The number to reserve; or give --country and the other criteria.
    pub number: Option<String>,
    #[command(flatten)]
    pub criteria: Criteria,
    /// How long to hold the numbers, in seconds (server default: 30 minutes).
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,
    /// Makes a retried request answer like the first instead of reserving again.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Args)]
pub struct AllocateArgs {
    /// The number to allocate (available, or reserved by this tenant); or give --country and criteria.
    pub number: Option<String>,
    #[command(flatten)]
    pub criteria: Criteria,
    /// psap, utilities, document_telephony or mdoc.
    #[arg(long)]
    pub subsystem: String,
    /// The dashboard that shows the number's calls.
    #[arg(long = "dashboard", value_name = "DASHBOARD_ID")]
    pub dashboard_id: String,
    /// The customer label (the greeting of non-psap lines).
    #[arg(long = "label", value_name = "CUSTOMER_LABEL")]
    pub customer_label: String,
    /// A name for people (shown in dashboards).
    #[arg(long)]
    pub friendly_name: Option<String>,
    /// The organisation the numbers belong to, in the tenant's own terms.
    #[arg(long = "organisation", value_name = "ORGANISATION_ID")]
    pub organisation_id: Option<String>,
    /// Mark the numbers as provisioned automatically.
    #[arg(long)]
    pub auto_provisioned: bool,
    /// The numbers' own greeting, said as written instead of the tenant's templates.
    #[arg(long, value_name = "TEXT")]
    pub greeting_text: Option<String>,
    /// Route attributes for voice AI: a JSON object of at most 1 KiB.
    #[arg(long, value_name = "JSON", value_parser = parse_json)]
    pub attributes: Option<serde_json::Value>,
    /// Makes a retried request answer like the first instead of allocating again.
    #[arg(long)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NumbersCmd {
    /// This tenant's numbers (reserved, allocated, cooldown, aging).
    List {
        /// psap, utilities, document_telephony or mdoc.
        #[arg(long)]
        subsystem: Option<String>,
        /// reserved, allocated, cooldown or aging.
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        paging: Paging,
    },
    /// One number with its route.
    Get {
        /// The number.
        number: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("change").required(true).multiple(true)
    .args(["subsystem", "dashboard_id", "customer_label", "friendly_name", "greeting_text", "clear_greeting_text",
           "attributes", "clear_attributes"])))]
pub struct RemapArgs {
    /// The allocated number.
    pub number: String,
    /// psap, utilities, document_telephony or mdoc.
    #[arg(long)]
    pub subsystem: Option<String>,
    /// The new dashboard.
    #[arg(long = "dashboard", value_name = "DASHBOARD_ID")]
    pub dashboard_id: Option<String>,
    /// The new customer label.
    #[arg(long = "label", value_name = "CUSTOMER_LABEL")]
    pub customer_label: Option<String>,
    /// The new friendly name.
    #[arg(long)]
    pub friendly_name: Option<String>,
    /// The number's own greeting, said as written instead of the tenant's templates.
    #[arg(long, value_name = "TEXT", conflicts_with = "clear_greeting_text")]
    pub greeting_text: Option<String>,
    /// Drop the number's own greeting: back to the tenant's templates.
    #[arg(long)]
    pub clear_greeting_text: bool,
    /// New route attributes (a JSON object of at most 1 KiB), replacing the old ones whole.
    #[arg(long, value_name = "JSON", value_parser = parse_json, conflicts_with = "clear_attributes")]
    pub attributes: Option<serde_json::Value>,
    /// Drop the route's attributes.
    #[arg(long)]
    pub clear_attributes: bool,
}

#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The allocated number.
    pub number: String,
    /// Why it is released (kept with the number and in its history).
    #[arg(long)]
    pub reason: String,
    /// Free-text notes kept with the release.
    #[arg(long)]
    pub notes: Option<String>,
}

#[derive(Debug, Args)]
pub struct UsageArgs {
    /// The number (+15551234567, 15551234567).
    pub number: String,
    /// Bucket size: hour (the last 30 days) or day.
    #[arg(long, default_value = "hour", value_parser = ["hour", "day"])]
    pub bucket: String,
    /// Start, RFC 3339 (default: 24 hours or 30 days before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// End, RFC 3339, exclusive (default: now).
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct UsageTopArgs {
    /// Start, RFC 3339 (default: 24 hours before --to).
    #[arg(long)]
    pub from: Option<String>,
    /// End, RFC 3339, exclusive (default: now).
    #[arg(long)]
    pub to: Option<String>,
    /// How many numbers (1 to 1000, default 10).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Operator: only this tenant's numbers.
    #[arg(long)]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct LookupArgs {
    /// The number (+15551234567, 15551234567).
    pub number: String,
    /// Answer only once the node has applied this position (the `seq` a write returned).
    #[arg(long)]
    pub min_seq: Option<u64>,
    /// How long the node may wait for --min-seq, in milliseconds (node default 1000).
    #[arg(long, requires = "min_seq")]
    pub wait_ms: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum EventsCmd {
    /// Print events as JSON lines, one per event: up to the head, or on and on with --follow.
    Tail {
        /// Start after this position; `head` starts at the newest event.
        #[arg(long, default_value = "0")]
        after: String,
        /// Keep waiting for new events (long poll) until interrupted.
        #[arg(long, short)]
        follow: bool,
        /// Events per request (1 to 10000).
        #[arg(long, default_value_t = 1000)]
        limit: u32,
    },
}

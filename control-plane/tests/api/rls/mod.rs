//! Row-level security, asserted AS THE APPLICATION ROLE (docs/goals.md R1, R2, R3).
//!
//! Superusers bypass RLS, so a test that asserts as `postgres` proves nothing.
//! Here data is seeded through the owner (superuser) connection, its existence
//! is checked through the operator role, and every assertion about what a
//! tenant can see or change runs on the `didroute_app` pool of `Db` (each
//! test first checks that the pool really is that role). Every "reveals
//! nothing / changes nothing" assertion has a positive control: the owning
//! tenant runs the same statement and does see or change the rows, so a broken
//! query or a lost tenant context cannot pass vacuously. Attacks are committed
//! (not rolled back), and a byte-for-byte snapshot of every tenant table taken
//! through the owner connection must be unchanged afterwards.
//!
//! One file a concern: the seeded world and the owner's view of it
//! (`world`), running statements as the app role (`as_app`), the per-table
//! statement catalogue (`probes`); then the tests: service roles and
//! policies (R1, `roles`), failing closed without a tenant (`fail_closed`),
//! tenant context on pooled connections (R2, `pooled_context`), tenant
//! isolation per table (R3, `cross_tenant`), what a tenant may write on its
//! own numbers (`own_numbers`) and the events it may emit (`events`).

mod as_app;
mod probes;
mod world;

mod cross_tenant;
mod events;
mod fail_closed;
mod own_numbers;
mod pooled_context;
mod roles;

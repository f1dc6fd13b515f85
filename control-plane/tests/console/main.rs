//! The admin console (`/console`) in a real browser (headless Chromium via
//! chromedriver) and over plain HTTP, against a control plane on a fresh
//! database. Screenshots land in `target/console-screenshots/`.

mod browser;
mod http;
mod operator;
mod orders;
mod tenant;
mod tracking;
mod usage;

/// The console is a client of `service/` like REST: no SQL, no transaction
/// of its own, so every change keeps the service's transaction, audit row
/// and outbox row.
#[test]
fn the_console_calls_services_never_sql() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/console");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            files += 1;
            let source = std::fs::read_to_string(&path).unwrap();
            for banned in ["sqlx", "tenant_tx", ".begin()", "query(", "query_as", "query_scalar", ".operator"] {
                assert!(!source.contains(banned), "{} uses {banned}: call a service/ function", path.display());
            }
        }
    }
    assert!(files >= 10, "the console's files were found ({files})");
}

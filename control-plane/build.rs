//! `sqlx::migrate!` embeds `../migrations` at compile time, and cargo does not
//! know it reads that folder: without this, a new migration file is missing
//! from an incremental build until something else changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}

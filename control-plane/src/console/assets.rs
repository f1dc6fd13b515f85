//! The console's one stylesheet, compiled into the binary and served with a
//! long cache lifetime: its path carries a version, so a changed sheet is a
//! new URL.

use axum::http::header;
use axum::response::IntoResponse;

/// Where pages link the stylesheet; bump the version when the sheet changes.
pub const STYLE_PATH: &str = "/console/assets/style-1.css";

const STYLE: &str = include_str!("style.css");

pub async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        STYLE,
    )
}

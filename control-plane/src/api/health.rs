use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

#[allow(unused_imports)]
use super::docs::ProblemDoc;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, description = "alive", body = String, content_type = "text/plain")))]
pub async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "service", security(()),
    responses((status = 200, description = "ready: the database answers", body = String, content_type = "text/plain"),
        (status = 500, response = ProblemDoc),
        (status = 503, response = ProblemDoc)))]
/// Ready when the database answers.
pub async fn readyz(State(s): State<AppState>) -> ApiResult<&'static str> {
    sqlx::query("SELECT 1").execute(&s.db.operator).await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Database(sqlx::Error::PoolTimedOut)
    })?;
    Ok("ready")
}

#[utoipa::path(get, path = "/metrics", tag = "service", security(()),
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let head = *s.head.borrow();
    s.metrics.observe_carriers(&s.carriers, &s.db.operator).await;
    let body = s.metrics.render(head, &s.db.operator).await;
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

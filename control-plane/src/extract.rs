//! Request extractors whose rejections are problem+json like every other error.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use didroute_shared::problem::ProblemType;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// `axum::Json` with problem+json rejections.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

/// An optional JSON body: none at all (empty) is `None`, anything else must
/// be JSON of `T`, with [`Json`]'s rejections.
pub struct OptionalJson<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(
            |e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(ProblemType::PayloadTooLarge, "the request body is too large")
                }
                _ => ApiError::new(ProblemType::MalformedJson, e.body_text()),
            },
        )?;
        if bytes.is_empty() {
            return Ok(OptionalJson(None));
        }
        let Json(v) = Json::from_request(Request::from_parts(parts, axum::body::Body::from(bytes)), state).await?;
        Ok(OptionalJson(Some(v)))
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    match e.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            ProblemType::UnsupportedMediaType,
            "send the body as JSON with content-type: application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::new(ProblemType::InvalidBody, e.body_text()),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(ProblemType::PayloadTooLarge, "the request body is too large"),
        _ => ApiError::new(ProblemType::MalformedJson, e.body_text()),
    }
}

/// `axum::extract::Query` with problem+json rejections.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e: QueryRejection| ApiError::new(ProblemType::InvalidQuery, e.body_text()))
    }
}

/// `axum::extract::Path` with problem+json rejections.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| ApiError::new(ProblemType::InvalidPath, e.body_text()))
    }
}

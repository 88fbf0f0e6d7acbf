//! A bug must cost one request, not a connection: a handler that panics answers
//! `500 internal` (problem+json) instead of unwinding into hyper, which would drop the
//! connection — over HTTP/2 with every other stream on it. (Leaf module: it names no feature.)
//!
//! The panic message goes to the log (through the panic hook and the internal cause); it may
//! hold request data, so it is never put in the response.

use std::panic::AssertUnwindSafe;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;

use crate::error::AppError;

/// Middleware: runs the rest of the stack and turns a panic into `500 internal`.
pub async fn catch_panic(req: Request, next: Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(res) => res,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into());
            // The route's path only: queries may hold tokens or personal data.
            AppError::internal(format_args!("handler panicked on {method} {path}: {what}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode, header};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn s2_a_panicking_handler_answers_500_problem_json_and_the_service_keeps_serving() {
        let app = Router::new()
            .route("/boom", get(|| async {
                // A request-data bug as it would happen: a slice past the end.
                let data = std::hint::black_box(Vec::<u8>::new());
                format!("{}", data[3])
            }))
            .route("/ok", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(catch_panic));
        let res = app.clone().oneshot(Request::get("/boom?secret=x").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(res.headers()[header::CONTENT_TYPE], huoti_api::PROBLEM_CONTENT_TYPE);
        let cause = res.extensions().get::<crate::error::InternalCause>().expect("the cause is kept for the log").0.clone();
        assert!(cause.contains("GET /boom") && cause.contains("index out of bounds") && !cause.contains("secret"), "{cause}");
        let body: serde_json::Value = serde_json::from_slice(&to_bytes(res.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["code"], "internal");
        assert!(!body.to_string().contains("index out of bounds"), "the panic message is not sent: {body}");
        let res = app.oneshot(Request::get("/ok").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
}

//! What the api serves to browsers besides GraphQL (GraphiQL, the People page): pages with
//! their security headers, and files embedded in the binary.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A file served from the binary: (name, content type, content).
pub type Asset = (&'static str, &'static str, &'static [u8]);

/// An HTML page under its Content-Security-Policy, never sniffed, sending no `Referer`.
pub fn page(html: impl IntoResponse, policy: &'static str, cache: &'static str) -> Response {
    let mut response = axum::response::Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // `frame-ancestors 'none'` in the policy, for browsers too old to read it.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The asset named `file`, or 404: only names in the list are served, so no path reaches the
/// file system.
pub fn asset(assets: &[Asset], file: &str, cache: &'static str) -> Response {
    match assets.iter().find(|(name, ..)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, cache),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

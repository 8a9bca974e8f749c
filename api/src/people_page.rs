//! The reference People page (issue 16), served from the binary: `/` (and `/accept-invitation`,
//! where invitation emails link) answer its one HTML page, `/people/{file}` its modules and
//! stylesheet (`api/assets/people`, plain ES modules with no build step). It talks only to the
//! public GraphQL API, as any SPA would, and no request leaves the server.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The page's policy: its own scripts and styles only, no inline code, and connections to this
/// origin only (`/graphql` and its WebSocket).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// (file name, content type, content)
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/people/app.css"),
    ),
    (
        "app.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/app.js"),
    ),
    (
        "api.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/api.js"),
    ),
    (
        "ui.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/ui.js"),
    ),
    (
        "people.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/people.js"),
    ),
    (
        "removal.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/removal.js"),
    ),
    (
        "history.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/history.js"),
    ),
];

const PAGE: &str = include_str!("../assets/people/index.html");

/// `GET /` and `GET /accept-invitation`: the page; it reads the path (and an invitation's token
/// from the fragment, which never reaches the server) itself.
pub async fn page() -> Response {
    let mut response = axum::response::Html(PAGE).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /people/{file}`: a module or the stylesheet. Revalidated on each load (`no-cache`), so
/// an upgrade never mixes old and new modules.
pub async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, ..)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

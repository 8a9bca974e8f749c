//! The reference People page, served from the binary: `/` (and `/accept-invitation`,
//! where invitation emails link) answer its one HTML page, `/people/{file}` its modules and
//! stylesheet (`api/assets/people`, plain ES modules with no build step). It talks only to the
//! public GraphQL API, as any SPA would, and no request leaves the server.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;

use crate::web::{self, Asset, Assets};

/// The page's policy: its own scripts and styles only, no inline code, and connections to this
/// origin only (`/graphql` and its WebSocket).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

/// (file name, content type, content)
const ASSETS: &[Asset] = &[
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
    (
        "invitations.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/invitations.js"),
    ),
    (
        "member.js",
        JAVASCRIPT,
        include_bytes!("../assets/people/member.js"),
    ),
];

const PAGE: &str = include_str!("../assets/people/index.html");

/// `GET /` and `GET /accept-invitation`: the page; it reads the path (and an invitation's token
/// from the fragment, which never reaches the server) itself.
pub async fn page() -> Response {
    web::page(PAGE, CONTENT_SECURITY_POLICY, "no-cache")
}

static SERVED: LazyLock<Assets> = LazyLock::new(|| Assets::new(ASSETS));

/// `GET /people/{file}`: a module or the stylesheet. Revalidated on each load (`no-cache`, a
/// 304 when unchanged), so an upgrade never mixes old and new modules.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    SERVED.serve(&file, &headers, "no-cache")
}

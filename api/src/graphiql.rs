//! GraphiQL, served from the binary: its page, and the pinned production builds of GraphiQL and
//! React it loads (`api/assets/graphiql`, with their licences). No request leaves the server, so
//! it works offline, behind a firewall, and under the page's Content-Security-Policy.

use std::sync::{Arc, LazyLock};

use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

use crate::settings::is_loopback_authority;
use crate::web::{self, Asset, Assets};
use entities::organization;
use rules::demo::DemoAccess;
use sea_orm::{DatabaseConnection, DbErr, EntityTrait, QueryOrder};
use sha2::{Digest, Sha256};

/// The page's policy: scripts, styles and connections to this origin only (its WebSocket
/// included); GraphiQL's fonts and icons are `data:` URIs inside its stylesheet, and React sets
/// inline `style` attributes.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// (file name, content type, content)
const ASSETS: &[Asset] = &[
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    ),
    (
        "start.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/graphiql/start.js"),
    ),
    (
        "LICENSE.graphiql",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/graphiql/LICENSE.graphiql"),
    ),
    (
        "LICENSE.react",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/graphiql/LICENSE.react"),
    ),
    (
        "LICENSE.react-dom",
        "text/plain; charset=utf-8",
        include_bytes!("../assets/graphiql/LICENSE.react-dom"),
    ),
];

static SERVED: LazyLock<Assets> = LazyLock::new(|| Assets::new(ASSETS));

/// `GET /graphiql/{file}`: one of the assets, revalidated on each load (a 304 when unchanged),
/// so a release that upgrades GraphiQL never meets a day-old copy of its other half.
pub async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    SERVED.serve(&file, &headers, "no-cache")
}

/// The page, with what a newcomer needs prefilled: with demo data, the demo owner's token in the
/// Headers tab and a members query of the demo workspace; otherwise a hint and `viewer`.
fn page(demo: Option<&DemoAccess>, storage_namespace: &str) -> String {
    let (headers, query) = match demo {
        Some(demo) => (
            json!({ "Authorization": format!("Bearer {}", demo.token) }),
            format!(
                "# The demo workspace's members, as its owner (see the Headers tab below).\n\
                 query Members {{\n  members(workspaceId: \"{}\", first: 20) {{\n    totalCount\n    \
                 edges {{ node {{ id role status user {{ id name email }} }} }}\n  }}\n}}\n",
                demo.workspace_id
            ),
        ),
        None => (
            json!({ "Authorization": "Bearer <a session token from signIn, or an API key>" }),
            "# Put your token in the Headers tab below, then run:\nquery Viewer {\n  viewer { role permissions user { name email } workspace { id name } }\n}\n".to_owned(),
        ),
    };
    let config = json!({
        "endpoint": "/graphql",
        "subscriptionEndpoint": "/graphql/ws",
        "headers": serde_json::to_string_pretty(&headers).unwrap_or_default(),
        "query": query,
        "storageNamespace": storage_namespace,
    });
    // In a <script> block, "</" could end it early: JSON allows "<" escaped as \u003c.
    let config = config.to_string().replace('<', "\\u003c");
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="robots" content="noindex">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Offboarding API — GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/graphiql/graphiql.min.css">
    <style>body {{ height: 100%; margin: 0; overflow: hidden; }} #graphiql {{ height: 100vh; }}</style>
  </head>
  <body>
    <div id="graphiql">Loading…</div>
    <script type="application/json" id="graphiql-config">{config}</script>
    <script src="/graphiql/react.production.min.js"></script>
    <script src="/graphiql/react-dom.production.min.js"></script>
    <script src="/graphiql/graphiql.min.js"></script>
    <script src="/graphiql/start.js"></script>
  </body>
</html>
"#
    )
}

/// GraphiQL's page twice: with the demo owner's token in its Headers tab, and without.
pub struct Pages {
    with_demo_token: Option<Arc<str>>,
    plain: Arc<str>,
}

impl Pages {
    /// The pages, their GraphiQL keeping its tabs under `storage_namespace` (see
    /// [`storage_namespace`]).
    pub fn new(demo: Option<&DemoAccess>, storage_namespace: &str) -> Pages {
        Pages {
            with_demo_token: demo.map(|demo| Arc::from(page(Some(demo), storage_namespace))),
            plain: Arc::from(page(None, storage_namespace)),
        }
    }

    /// The page a `GET /graphql` asking for HTML gets, by what the browser says of the request
    /// (`Sec-Fetch-*`; a client that sends none gets the page, without the token):
    /// - loaded by another page (`fetch`, a frame, an image: `Sec-Fetch-Dest` other than
    ///   `document`), none: the request is answered as GraphQL;
    /// - the demo owner's token only to a browser's top-level navigation from this origin or
    ///   typed in (`Sec-Fetch-Site` `same-origin` or `none`, which only a browser sends), by a
    ///   client on this machine (`loopback`), to a loopback host name (`Host`: `localhost`,
    ///   `127.0.0.1`, `[::1]`, so a name another site points at 127.0.0.1 gets nothing): no
    ///   other origin can make a browser fetch it, and no one elsewhere receives it;
    /// - otherwise the page without it.
    pub fn for_request(&self, headers: &HeaderMap, loopback: bool) -> Option<&str> {
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        if header("sec-fetch-dest").is_some_and(|dest| dest != "document") {
            return None;
        }
        let same_origin =
            header("sec-fetch-site").is_some_and(|site| site == "same-origin" || site == "none");
        let loopback_host = header("host").is_some_and(is_loopback_authority);
        let page = match &self.with_demo_token {
            Some(with_token) if same_origin && loopback && loopback_host => with_token,
            _ => &self.plain,
        };
        Some(page)
    }
}

/// What GraphiQL keys the tabs it saves in the browser by: this database, as a digest of its
/// first organization's id (a UUIDv7, so the oldest is the first), or `empty`. A tab saved
/// against a database that was since recreated holds ids nobody can reach; under a new name it
/// is left behind (and `start.js` deletes it), and GraphiQL opens on the page's own query. The
/// digest keeps the id itself off a page anyone may load.
pub async fn storage_namespace(db: &DatabaseConnection) -> Result<String, DbErr> {
    let first = organization::Entity::find()
        .order_by_asc(organization::Column::Id)
        .one(db)
        .await?;
    Ok(first.map_or_else(
        || "empty".to_owned(),
        |organization| hex::encode(&Sha256::digest(organization.id.0.as_bytes())[..8]),
    ))
}

/// The page as a response, with its security headers.
pub fn page_response(page: &str) -> Response {
    web::page(page.to_owned(), CONTENT_SECURITY_POLICY, "no-store")
}

#[cfg(test)]
mod tests {
    use super::*;
    use entities::{OrganizationId, WorkspaceId};

    /// Who gets the page with the demo owner's token: a browser's top-level navigation, typed in
    /// or from this origin, by a client on this machine, to a loopback host name. A cross-site
    /// navigation, a client elsewhere, a client that isn't a browser (no fetch metadata) or
    /// another host name (DNS rebinding) gets it without; a page loaded by another page (fetch,
    /// frame) gets none.
    #[test]
    fn the_demo_token_goes_only_to_a_same_origin_navigation_on_this_machine() {
        let demo = DemoAccess {
            organization_id: OrganizationId(uuid::Uuid::now_v7()),
            workspace_id: WorkspaceId(uuid::Uuid::now_v7()),
            owner_email: "olivia.owner@acme.test".into(),
            token: "ofs_demo-token".into(),
        };
        let pages = Pages::new(Some(&demo), "empty");
        let request = |site: Option<&str>, dest: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert("host", "127.0.0.1:8080".parse().unwrap());
            if let Some(site) = site {
                headers.insert("sec-fetch-site", site.parse().unwrap());
            }
            if let Some(dest) = dest {
                headers.insert("sec-fetch-dest", dest.parse().unwrap());
            }
            headers
        };
        let has_token = |page: Option<&str>| page.map(|page| page.contains("ofs_demo-token"));
        let cases = [
            (None, None, true, Some(false)),
            (Some("none"), Some("document"), true, Some(true)),
            (Some("same-origin"), Some("document"), true, Some(true)),
            (Some("same-origin"), Some("document"), false, Some(false)),
            (Some("cross-site"), Some("document"), true, Some(false)),
            (Some("same-site"), Some("document"), true, Some(false)),
            (Some("cross-site"), Some("empty"), true, None),
            (Some("same-origin"), Some("iframe"), true, None),
        ];
        for (site, dest, loopback, expected) in cases {
            let page = pages.for_request(&request(site, dest), loopback);
            assert_eq!(
                has_token(page),
                expected,
                "{site:?} {dest:?} loopback {loopback}"
            );
        }
        for host in ["localhost:8080", "[::1]:8080", "127.0.0.1"] {
            let mut headers = request(Some("none"), Some("document"));
            headers.insert("host", host.parse().unwrap());
            assert_eq!(
                has_token(pages.for_request(&headers, true)),
                Some(true),
                "{host}"
            );
        }
        for host in [
            "rebound.evil.test",
            "rebound.evil.test:8080",
            "127.0.0.1.evil.test",
        ] {
            let mut headers = request(Some("same-origin"), Some("document"));
            headers.insert("host", host.parse().unwrap());
            assert_eq!(
                has_token(pages.for_request(&headers, true)),
                Some(false),
                "{host}"
            );
        }
        assert_eq!(
            has_token(
                Pages::new(None, "empty")
                    .for_request(&request(Some("none"), Some("document")), true)
            ),
            Some(false),
            "without demo data there is no token to give"
        );
    }
}

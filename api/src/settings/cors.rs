//! Which browsers may call the API from another origin (`CORS_ALLOWED_ORIGINS`), and which
//! request headers their pages may send (`CORS_ALLOWED_HEADERS`, beside the ones GraphQL clients
//! send on their own).

use axum::http::HeaderName;

use super::SettingsError;

/// The request headers a page on an allowed origin may send: the API's own (`Authorization`,
/// `Content-Type`, `Accept`, `x-request-id`, `traceparent`), and those the major GraphQL
/// clients add on their own: Apollo Client's client awareness (`apollographql-client-name`,
/// `apollographql-client-version`) and its `x-apollo-operation-name` and
/// `apollo-require-preflight` (which Apollo's CSRF prevention asks of clients). urql, Relay and
/// graphql-request send none of their own. A browser refuses the whole request when its
/// preflight doesn't name each header the page set.
pub const CLIENT_HEADERS: [&str; 9] = [
    "authorization",
    "content-type",
    "accept",
    "x-request-id",
    "traceparent",
    "apollographql-client-name",
    "apollographql-client-version",
    "x-apollo-operation-name",
    "apollo-require-preflight",
];

/// The origins, besides the API's own, that browsers may call it from (`CORS_ALLOWED_ORIGINS`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// None: the API's own origin only. The default with a configured database.
    SameOrigin,
    /// `http://localhost`, `http://127.0.0.1` and `http://[::1]` on any port: the embedded
    /// default, for a front end under development on this machine.
    LocalDevelopment,
    /// Exactly these origins (`scheme://host[:port]`).
    Exactly(Vec<String>),
}

/// Whether `authority` (`host` or `host:port`) names this machine: `localhost`, `127.0.0.1` or
/// `[::1]`, on any port.
pub fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    };
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

impl CorsOrigins {
    pub fn allows(&self, origin: &str) -> bool {
        match self {
            CorsOrigins::SameOrigin => false,
            CorsOrigins::LocalDevelopment => origin
                .strip_prefix("http://")
                .is_some_and(is_loopback_authority),
            CorsOrigins::Exactly(origins) => origins.iter().any(|allowed| allowed == origin),
        }
    }

    /// `CORS_ALLOWED_ORIGINS`: exact origins separated by commas; set but empty means none.
    pub(super) fn parse(value: &str) -> Result<CorsOrigins, SettingsError> {
        let origins: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                let (scheme, host) = origin.split_once("://").unwrap_or(("", ""));
                if matches!(scheme, "http" | "https")
                    && !host.is_empty()
                    && !host.contains(['/', '?', '#', '*', ' '])
                {
                    Ok(origin.to_owned())
                } else {
                    Err(SettingsError(format!(
                        "CORS_ALLOWED_ORIGINS must list exact origins like https://app.example.com, separated by commas; got {origin:?}"
                    )))
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(if origins.is_empty() {
            CorsOrigins::SameOrigin
        } else {
            CorsOrigins::Exactly(origins)
        })
    }
}

/// `CORS_ALLOWED_HEADERS`: more header names a page may send, separated by commas.
pub(super) fn headers(value: &str) -> Result<Vec<HeaderName>, SettingsError> {
    value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| {
            HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                SettingsError(format!(
                    "CORS_ALLOWED_HEADERS must list header names separated by commas, like x-tenant, x-client-build; got {name:?}"
                ))
            })
        })
        .collect()
}

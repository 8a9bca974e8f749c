//! What the api serves to browsers besides GraphQL (GraphiQL, the People page): pages with
//! their security headers, and files embedded in the binary.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

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

/// Files served from the binary, each with an entity tag made from its content once, at first
/// use: a browser revalidating one it has (`If-None-Match`) gets a 304 without the body. Bodies
/// are compressed on the way out (br or gzip, `startup::compressed`), so the tag is weak: it
/// names the content, not the bytes of one encoding.
pub struct Assets {
    files: Vec<(Asset, HeaderValue)>,
}

impl Assets {
    pub fn new(files: &[Asset]) -> Assets {
        Assets {
            files: files
                .iter()
                .map(|file| {
                    let digest = hex::encode(Sha256::digest(file.2));
                    let tag = HeaderValue::from_str(&format!("W/\"{}\"", &digest[..32]))
                        .expect("hex digits make a header value");
                    (*file, tag)
                })
                .collect(),
        }
    }

    /// The asset named `file` under this `Cache-Control`, a 304 when the browser's copy is it,
    /// or 404: only names in the list are served, so no path reaches the file system.
    pub fn serve(&self, file: &str, request: &HeaderMap, cache: &'static str) -> Response {
        let Some(((_, content_type, bytes), tag)) =
            self.files.iter().find(|((name, ..), _)| *name == file)
        else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let headers = [
            (header::ETAG, tag.clone()),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ];
        if has_copy(request, tag) {
            return (StatusCode::NOT_MODIFIED, headers).into_response();
        }
        let content_type = (header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        (headers, [content_type], *bytes).into_response()
    }
}

/// Whether `If-None-Match` names this tag (or `*`), compared weakly as RFC 9110 says for it.
fn has_copy(request: &HeaderMap, tag: &HeaderValue) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let Ok(ours) = tag.to_str().map(opaque) else {
        return false;
    };
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|theirs| theirs.trim() == "*" || opaque(theirs) == ours)
}

//! What the email jobs share: a recipient checked before any header is built, HTML escaping,
//! and the invitation link's address.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use url::Url;
use uuid::Uuid;

use super::JobError;

/// The recipient's mailbox, once every value bound for a header is known to be safe: an
/// address that doesn't parse, or a header value with a control character (which lettre would
/// otherwise panic on, or which could smuggle in a header), is [`JobError::Undeliverable`].
pub(super) fn recipient(
    to_email: &str,
    to_name: Option<&str>,
    header_values: &[(&str, &str)],
) -> Result<Mailbox, JobError> {
    let named = to_name.map(|name| ("recipient name", name));
    for (what, value) in named.iter().chain(header_values) {
        if value.chars().any(char::is_control) {
            return Err(JobError::Undeliverable(format!(
                "the {what} {value:?} holds a control character"
            )));
        }
    }
    let address = to_email
        .parse()
        .map_err(|e| JobError::Undeliverable(format!("recipient {to_email:?}: {e}")))?;
    Ok(Mailbox::new(to_name.map(str::to_owned), address))
}

/// A message in text and HTML whose Message-ID is derived from its job, so a copy sent again
/// after a failure is recognisably the same message.
pub(super) fn message(
    (from, to): (&Mailbox, Mailbox),
    job_id: Uuid,
    subject: String,
    (text, html): (String, String),
) -> Result<Message, JobError> {
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{job_id}@offboarding>")))
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|e| JobError::Undeliverable(e.to_string()))
}

pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The address that accepts an invitation: `accept-invitation` under `PUBLIC_URL`, the token in
/// the fragment, which browsers never send to a server nor pass on in a `Referer`.
pub fn accept_link(public_url: &Url, token: &str) -> Url {
    let mut link = public_url
        .join("accept-invitation")
        .expect("a relative path joins any http(s) address");
    link.set_fragment(Some(&format!("token={token}")));
    link
}

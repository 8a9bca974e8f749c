//! Free text from callers, checked once where it enters: the GraphQL edge parses every string
//! argument into one of these types, so a rule never sees a string that broke them.
//!
//! Every kind refuses control characters (Unicode category Cc: U+0000–U+001F, U+007F–U+009F),
//! so no NUL reaches the database and no CR/LF reaches a mail header. A removal or deactivation
//! `reason` alone keeps line breaks and tabs: it is shown as plain text in the email (escaped in
//! its HTML part) and as a JSON string in the audit log, and no header carries it. Lengths count
//! characters (Unicode scalar values) and are listed in README.md ("Limits").

use std::fmt;
use std::str::FromStr;

/// Why a text was refused; the message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}` {problem}")]
pub struct TextError {
    pub field: &'static str,
    pub problem: String,
}

/// The rule one kind of text follows.
#[derive(Debug, Clone, Copy)]
pub struct TextRule {
    /// The input field it arrives in, for the error message.
    pub field: &'static str,
    pub min_chars: usize,
    pub max_chars: usize,
    /// Keep `\n` (a `\r\n` becomes `\n`) and `\t`.
    pub line_breaks: bool,
    /// Leading and trailing whitespace is dropped before the length is checked.
    pub trim: bool,
}

impl TextRule {
    pub fn check(&self, value: &str) -> Result<String, TextError> {
        let refuse = |problem: String| TextError {
            field: self.field,
            problem,
        };
        let value = if self.trim { value.trim() } else { value };
        let value = if self.line_breaks {
            value.replace("\r\n", "\n")
        } else {
            value.to_owned()
        };
        let allowed = |c: char| self.line_breaks && matches!(c, '\n' | '\t');
        if let Some(c) = value.chars().find(|&c| c.is_control() && !allowed(c)) {
            return Err(refuse(format!(
                "must not contain control characters (found U+{:04X})",
                c as u32
            )));
        }
        let length = value.chars().count();
        if length < self.min_chars || length > self.max_chars {
            return Err(refuse(if self.min_chars == 0 {
                format!("must be at most {} characters", self.max_chars)
            } else {
                format!(
                    "must be {} to {} characters",
                    self.min_chars, self.max_chars
                )
            }));
        }
        Ok(value)
    }
}

/// A text type: what a GraphQL `String` argument of this kind is parsed into.
pub trait CheckedText: Sized {
    const RULE: TextRule;
    fn from_checked(value: String) -> Self;

    fn parse(value: &str) -> Result<Self, TextError> {
        Self::RULE.check(value).map(Self::from_checked)
    }
}

macro_rules! text_kinds {
    ($($(#[$doc:meta])* $name:ident { field: $field:literal, min: $min:literal, max: $max:literal, line_breaks: $breaks:literal, trim: $trim:literal, debug: $debug:literal })*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, PartialEq, Eq, serde::Serialize)]
            #[serde(transparent)]
            pub struct $name(String);

            impl CheckedText for $name {
                const RULE: TextRule = TextRule {
                    field: $field,
                    min_chars: $min,
                    max_chars: $max,
                    line_breaks: $breaks,
                    trim: $trim,
                };

                fn from_checked(value: String) -> Self {
                    $name(value)
                }
            }

            impl $name {
                pub fn as_str(&self) -> &str {
                    &self.0
                }

                pub fn into_string(self) -> String {
                    self.0
                }
            }

            impl fmt::Debug for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    if $debug {
                        fmt::Debug::fmt(&self.0, f)
                    } else {
                        f.write_str(concat!(stringify!($name), "(<secret>)"))
                    }
                }
            }
        )*
    };
}

text_kinds! {
    /// A person's display name, chosen when accepting an invitation.
    PersonName { field: "name", min: 1, max: 100, line_breaks: false, trim: true, debug: true }
    /// An API key's name.
    ApiKeyName { field: "name", min: 1, max: 100, line_breaks: false, trim: true, debug: true }
    /// A SCIM token's name (the identity provider it is for: "Okta").
    ScimTokenName { field: "name", min: 1, max: 100, line_breaks: false, trim: true, debug: true }
    /// An identity provider's own id of a person (SCIM's `externalId`), compared exactly.
    ExternalId { field: "externalId", min: 1, max: 255, line_breaks: false, trim: false, debug: true }
    /// A user group's name (SCIM's Group `displayName`).
    GroupName { field: "displayName", min: 1, max: 100, line_breaks: false, trim: true, debug: true }
    /// Why someone was removed or deactivated; may span lines.
    Reason { field: "reason", min: 0, max: 1000, line_breaks: true, trim: true, debug: true }
    /// What the members list (or the recently removed) is searched for: a part of a name or email.
    SearchText { field: "search", min: 0, max: 100, line_breaks: false, trim: true, debug: true }
    /// A client's idempotency key, compared exactly as sent.
    IdempotencyKeyText { field: "idempotency_key", min: 1, max: 200, line_breaks: false, trim: false, debug: true }
    /// A password as typed; bounded so hashing it costs a known amount.
    Password { field: "password", min: 0, max: 1000, line_breaks: false, trim: false, debug: false }
    /// An invitation's secret.
    InvitationToken { field: "token", min: 1, max: 200, line_breaks: false, trim: true, debug: false }
    /// An organization's name.
    OrganizationName { field: "organization", min: 1, max: 100, line_breaks: false, trim: true, debug: true }
    /// A workspace's name.
    WorkspaceName { field: "name", min: 1, max: 100, line_breaks: false, trim: true, debug: true }
    /// A workspace's slug, to sign in by (`acme-marketing`).
    WorkspaceSlug { field: "workspace_slug", min: 1, max: 100, line_breaks: false, trim: true, debug: true }
    /// A paging cursor as a client sends it back: opaque here, checked when decoded.
    CursorText { field: "after", min: 1, max: 400, line_breaks: false, trim: false, debug: true }
}

/// The longest address SMTP carries (RFC 5321's path limit, less the angle brackets).
pub const MAX_EMAIL_LENGTH: usize = 254;

/// An email address that mail can be sent to: parsed by lettre, the same parser the worker's
/// mailer uses, so an address accepted here is never one the removal email can't go to; its
/// domain must have a dot.
/// Kept trimmed and lower-cased: emails are unique regardless of case.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether the mailer can send to this address: the message it builds takes its envelope from
/// the `To` header, which a quoted local part or an address literal doesn't survive (lettre
/// refuses the message), so every email to it would be DEAD. Checked on the path the mailer
/// takes, and quotes refused outright, so that the address stored is the address sent to.
fn the_mailer_carries(address: lettre::Address) -> bool {
    if address.user().contains('"') || address.domain().starts_with('[') {
        return false;
    }
    let from = lettre::Address::new("check", "example.com").expect("a plain address");
    lettre::Message::builder()
        .from(lettre::message::Mailbox::new(None, from))
        .to(lettre::message::Mailbox::new(None, address))
        .body(String::new())
        .is_ok()
}

impl FromStr for Email {
    type Err = TextError;

    fn from_str(value: &str) -> Result<Email, TextError> {
        Email::with_address(value).map(|(email, _)| email)
    }
}

impl Email {
    /// The email, and the address lettre parsed it as.
    fn with_address(value: &str) -> Result<(Email, lettre::Address), TextError> {
        let rule = TextRule {
            field: "email",
            min_chars: 1,
            max_chars: MAX_EMAIL_LENGTH,
            line_breaks: false,
            trim: true,
        };
        let email = rule.check(value)?.to_lowercase();
        let not_an_address = || TextError {
            field: "email",
            problem: "is not an email address".into(),
        };
        if email.chars().any(char::is_whitespace) {
            return Err(not_an_address());
        }
        let address = lettre::Address::from_str(&email).map_err(|_| not_an_address())?;
        // RFC 5321 allows a dotless domain (`ada@localhost`), but in a workspace's invitations
        // it is a typo far more often than an address: refused, as before lettre parsed them.
        if !address.domain().contains('.') {
            return Err(not_an_address());
        }
        Ok((Email(email), address))
    }
}

/// The address of someone invited: an [`Email`] the mailer can send to as well. Checked only
/// where an address enters (an invitation), so a person whose address was accepted before
/// still signs in with it.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct InviteeEmail(Email);

impl InviteeEmail {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_email(&self) -> &Email {
        &self.0
    }
}

impl fmt::Debug for InviteeEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for InviteeEmail {
    type Err = TextError;

    fn from_str(value: &str) -> Result<InviteeEmail, TextError> {
        let (email, address) = Email::with_address(value)?;
        if !the_mailer_carries(address) {
            return Err(TextError {
                field: "email",
                problem: "must be a plain address: a quoted name before the @ or an address \
                          literal such as [127.0.0.1] after it can't be emailed"
                    .into(),
            });
        }
        Ok(InviteeEmail(email))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_name_the_field() {
        for bad in [
            "a\u{0}b",
            "a\rb",
            "a\nb",
            "tab\there",
            "del\u{7f}",
            "c1\u{85}x",
            "\u{9b}x",
        ] {
            let error = PersonName::parse(bad).unwrap_err();
            assert_eq!(error.field, "name");
            assert!(
                error
                    .to_string()
                    .starts_with("`name` must not contain control characters")
            );
        }
        assert_eq!(
            PersonName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert_eq!(PersonName::parse("Zoë 李").unwrap().as_str(), "Zoë 李");
    }

    #[test]
    fn a_reason_keeps_line_breaks_but_no_other_control_character() {
        let reason = Reason::parse("left\r\nthe company\n\tfor good").unwrap();
        assert_eq!(reason.as_str(), "left\nthe company\n\tfor good");
        assert!(Reason::parse("left\u{0}").is_err());
        assert!(Reason::parse("bell\u{7}").is_err());
        assert!(Reason::parse("lone\rreturn").is_err());
    }

    #[test]
    fn lengths_are_bounded() {
        assert!(ApiKeyName::parse("").is_err());
        assert!(ApiKeyName::parse("   ").is_err());
        assert!(ApiKeyName::parse(&"k".repeat(100)).is_ok());
        assert!(ApiKeyName::parse(&"k".repeat(101)).is_err());
        assert!(Reason::parse(&"é".repeat(1000)).is_ok());
        assert!(Reason::parse(&"é".repeat(1001)).is_err());
        assert!(IdempotencyKeyText::parse("").is_err());
        assert_eq!(IdempotencyKeyText::parse(" k ").unwrap().as_str(), " k ");
        assert!(Password::parse(&"p".repeat(1001)).is_err());
    }

    #[test]
    fn emails_are_parsed_by_a_real_address_parser() {
        assert_eq!(
            "  Ada@Acme.Test ".parse::<Email>().unwrap().as_str(),
            "ada@acme.test"
        );
        for bad in [
            "a@b@c.com",
            "a..b@c.com",
            "a@.com",
            "no-at-sign",
            "@acme.test",
            "ada@",
            "a b@acme.test",
            "a\u{0}b@acme.test",
            "a@b",
            "ada@localhost",
            "ada@acme.test\r\nBcc: x@evil.test",
            "",
        ] {
            assert!(bad.parse::<Email>().is_err(), "{bad:?} is refused");
        }
        let long = format!("{}@acme.test", "a".repeat(250));
        assert!(long.parse::<Email>().is_err());
    }

    /// The forms an address can take, and whether an invitation takes them: everything it accepts,
    /// the worker's removal email can be built for (the mailer's own path), and what it refuses
    /// is what that path refuses, or what would be stored otherwise than it is sent.
    #[test]
    fn an_accepted_address_is_one_the_mailer_can_send_to() {
        // (form, taken to sign in with, taken for an invitation)
        let forms = [
            ("ada@acme.test", true, true),
            ("ada+offboarding@acme.test", true, true),
            ("a!#$%&'*+/=?^_`{|}~@acme.test", true, true),
            ("ada@münchen.de", true, true),
            ("\"<script>x</script>\"@x.test", true, false),
            ("\"ada\"@acme.test", true, false),
            ("ada@[127.0.0.1]", true, false),
            ("ada@[IPv6:::1]", false, false),
            ("\"ada lovelace\"@acme.test", false, false),
        ];
        let from: lettre::message::Mailbox = "Offboarding <no-reply@offboarding.invalid>"
            .parse()
            .unwrap();
        for (form, signs_in, accepted) in forms {
            // Signing in still takes what an address was allowed to be before.
            assert_eq!(
                form.parse::<Email>().is_ok(),
                signs_in,
                "{form:?} to sign in"
            );
            let parsed = form.parse::<InviteeEmail>();
            assert_eq!(parsed.is_ok(), accepted, "{form:?}: {parsed:?}");
            if let Ok(email) = parsed {
                let message = crate::jobs::send_removal_email::SendRemovalEmail {
                    workspace_id: entities::WorkspaceId(uuid::Uuid::nil()),
                    user_id: entities::UserId(uuid::Uuid::nil()),
                    email: email.as_str().to_owned(),
                    name: "Ada".into(),
                    workspace_name: "Marketing".into(),
                    groups: vec![],
                    reason: None,
                }
                .message(&from, uuid::Uuid::now_v7());
                assert!(message.is_ok(), "{form:?} is accepted and can be mailed");
            }
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let password = Password::parse("hunter22").unwrap();
        assert!(!format!("{password:?}").contains("hunter22"));
    }
}

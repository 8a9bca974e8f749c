//! A workspace's slug: the short name people sign in by (`acme-marketing`), unique across the
//! service and never changed once made (renaming a workspace keeps it, so sign-in links and
//! scripts that name it keep working).

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::error::{RuleError, UserError, UserErrorCode};

pub const MIN_SLUG_CHARS: usize = 2;
pub const MAX_SLUG_CHARS: usize = 63;

/// Words a workspace can't be called by: the service's own paths and words that would read as
/// the service speaking (`admin`, `system`), kept free for what may be served under them.
pub const RESERVED_SLUGS: &[&str] = &[
    "accept-invitation",
    "admin",
    "api",
    "assets",
    "graphiql",
    "graphql",
    "healthz",
    "help",
    "login",
    "logout",
    "metrics",
    "new",
    "people",
    "readyz",
    "root",
    "scim",
    "settings",
    "sign-in",
    "sign-out",
    "signin",
    "signout",
    "static",
    "support",
    "system",
    "webhooks",
    "www",
];

/// A slug in the right form: 2 to 63 lower-case ASCII letters and digits, words joined by
/// single hyphens (`acme-marketing`). Whether it is reserved or taken is a rule checked where a
/// workspace is made ([`Slug::refusal_if_reserved`]).
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    /// `text` as a slug, or why it isn't one (in words that follow the field's name).
    pub fn parse(text: &str) -> Result<Slug, String> {
        let length = text.chars().count();
        if !(MIN_SLUG_CHARS..=MAX_SLUG_CHARS).contains(&length) {
            return Err(format!(
                "must be {MIN_SLUG_CHARS} to {MAX_SLUG_CHARS} characters"
            ));
        }
        let in_form = text.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if in_form {
            Ok(Slug(text.to_owned()))
        } else {
            Err("must be lower-case letters a-z and digits, words joined by single hyphens (acme-marketing)".into())
        }
    }

    /// The slug a workspace's name suggests: accents dropped, lower case, every run of anything
    /// else one hyphen, at most 63 characters. `None` when too little of the name is left (a
    /// name in a script without Latin letters): then the slug must be given.
    pub fn from_name(name: &str) -> Option<Slug> {
        let mut slug = String::new();
        for c in name.nfkd() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if unicode_normalization::char::is_combining_mark(c) {
                continue;
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        slug.truncate(MAX_SLUG_CHARS);
        Slug::parse(slug.trim_end_matches('-')).ok()
    }

    /// Whether the service keeps this word for itself ([`RESERVED_SLUGS`]).
    pub fn is_reserved(&self) -> bool {
        RESERVED_SLUGS.contains(&self.0.as_str())
    }

    /// SLUG_RESERVED, on `field`, when the service keeps this word for itself.
    pub fn refusal_if_reserved(&self, field: &'static str) -> Result<(), RuleError> {
        if self.is_reserved() {
            return Err(RuleError::Rejected(vec![
                UserError::new(
                    UserErrorCode::SlugReserved,
                    format!(
                        "\"{}\" is kept for the service itself: choose another slug.",
                        self.0
                    ),
                )
                .on_field(field),
            ]));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_suggests_its_slug() {
        let slug = |name: &str| Slug::from_name(name).map(|slug| slug.0);
        assert_eq!(slug("Marketing").as_deref(), Some("marketing"));
        assert_eq!(
            slug("  Acme  Marketing & Sales!").as_deref(),
            Some("acme-marketing-sales")
        );
        assert_eq!(slug("Équipe Müller").as_deref(), Some("equipe-muller"));
        assert_eq!(slug("R&D 2027").as_deref(), Some("r-d-2027"));
        assert_eq!(
            slug("営業"),
            None,
            "nothing Latin is left: the slug must be given"
        );
        assert_eq!(slug("x"), None, "one character is too short");
        let long = slug(&"word ".repeat(30)).unwrap();
        assert!(
            long.len() <= MAX_SLUG_CHARS && !long.ends_with('-'),
            "{long}"
        );
    }

    #[test]
    fn only_lower_case_words_joined_by_single_hyphens_are_slugs() {
        for good in ["ab", "acme-marketing", "team-2027", &"a".repeat(63)] {
            assert!(Slug::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "a",
            "Acme",
            "acme--marketing",
            "-acme",
            "acme-",
            "acme marketing",
            "acme_marketing",
            "café",
            &"a".repeat(64),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_services_own_words_are_refused() {
        for reserved in ["api", "admin", "graphql", "accept-invitation"] {
            let refused = Slug::parse(reserved).unwrap().refusal_if_reserved("slug");
            assert!(
                matches!(&refused, Err(RuleError::Rejected(errors)) if errors[0].code == UserErrorCode::SlugReserved),
                "{reserved}: {refused:?}"
            );
        }
        assert!(
            Slug::parse("acme")
                .unwrap()
                .refusal_if_reserved("slug")
                .is_ok()
        );
    }
}

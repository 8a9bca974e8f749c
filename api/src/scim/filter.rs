//! The `filter` of a Users or Groups list (RFC 7644 §3.4.2.2), as far as identity providers use it to find
//! a person before they create or change one: one comparison, `eq`, on `userName`, `externalId`,
//! `id`, `active`, or the work email (`emails[type eq "work"].value`, `emails.value`).
//! Attribute names and the operator are matched without regard to case, as the RFC says;
//! anything else is `invalidFilter`.

use rules::organizations::people::PeopleFilter;
use rules::provisioning::groups::GroupFilter;
use rules::text::Email;

use super::errors::ScimError;

/// A filter's value: a JSON string or a boolean.
#[derive(Debug, PartialEq, Eq)]
enum Value {
    Text(String),
    Flag(bool),
}

/// One `eq` comparison: the normalized path and the value, or `invalidFilter` saying what this
/// server filters `kind` by.
fn comparison(filter: &str, supported: &str) -> Result<(String, Value), ScimError> {
    let unsupported = || {
        ScimError::invalid_filter(format!(
            "unsupported filter {filter:?}: this server filters {supported}"
        ))
    };
    let (path, rest) = split_path(filter.trim()).ok_or_else(unsupported)?;
    let (operator, value) = rest
        .trim_start()
        .split_once(char::is_whitespace)
        .ok_or_else(unsupported)?;
    if !operator.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let value = value_of(value.trim()).ok_or_else(unsupported)?;
    if let Value::Text(text) = &value
        && (text.chars().any(char::is_control) || text.chars().count() > MAX_VALUE_CHARS)
    {
        return Err(ScimError::invalid_filter(format!(
            "a filter's value must be at most {MAX_VALUE_CHARS} characters, without control characters"
        )));
    }
    Ok((normalized(path), value))
}

const USERS_BY: &str =
    "Users by one `eq` on userName, externalId, id, active or emails[type eq \"work\"].value";
const GROUPS_BY: &str = "Groups by one `eq` on displayName or id";

pub(crate) fn parse(filter: &str) -> Result<PeopleFilter, ScimError> {
    let (path, value) = comparison(filter, USERS_BY)?;
    match (path.as_str(), value) {
        ("username", Value::Text(user_name)) => Ok(PeopleFilter::UserName(user_name)),
        ("emails.value" | "emails[type eq \"work\"].value", Value::Text(email)) => {
            email
                .parse::<Email>()
                .map(PeopleFilter::Email)
                // No one has an address that isn't one: the filter matches nobody.
                .or(Ok(PeopleFilter::Nobody))
        }
        ("externalid", Value::Text(external_id)) => Ok(PeopleFilter::ExternalId(external_id)),
        ("id", Value::Text(id)) => Ok(id
            .parse::<uuid::Uuid>()
            .map_or(PeopleFilter::Nobody, |id| PeopleFilter::Id(id.into()))),
        ("active", Value::Flag(active)) => Ok(PeopleFilter::Active(active)),
        _ => Err(ScimError::invalid_filter(format!(
            "unsupported filter {filter:?}: this server filters {USERS_BY}"
        ))),
    }
}

/// The `filter` of a Groups list: `displayName eq` (how Okta and Entra find a group before
/// pushing it) or `id eq`.
pub(crate) fn parse_group(filter: &str) -> Result<GroupFilter, ScimError> {
    let (path, value) = comparison(filter, GROUPS_BY)?;
    match (path.as_str(), value) {
        ("displayname", Value::Text(name)) => Ok(GroupFilter::DisplayName(name)),
        ("id", Value::Text(id)) => Ok(id
            .parse::<uuid::Uuid>()
            .map_or(GroupFilter::Nobody, GroupFilter::Id)),
        _ => Err(ScimError::invalid_filter(format!(
            "unsupported filter {filter:?}: this server filters {GROUPS_BY}"
        ))),
    }
}

/// The longest value a filter compares with (an address is at most 254, an identity provider's
/// id far less).
const MAX_VALUE_CHARS: usize = 500;

/// A path as this parser compares it: lower case, blanks inside brackets reduced to the ones
/// between words (`emails[ type eq "work" ].value` is `emails[type eq "work"].value`).
fn normalized(path: &str) -> String {
    let path = path.to_ascii_lowercase();
    let Some((name, rest)) = path.split_once('[') else {
        return path;
    };
    let Some((inside, after)) = rest.split_once(']') else {
        return path;
    };
    let inside = inside.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{name}[{inside}]{after}")
}

/// The attribute path and what follows it: the path ends at the first blank outside brackets
/// (`emails[type eq "work"].value`) and quotes.
fn split_path(filter: &str) -> Option<(&str, &str)> {
    let (mut depth, mut quoted) = (0_u32, false);
    for (at, c) in filter.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted => depth = depth.checked_sub(1)?,
            c if c.is_whitespace() && depth == 0 && !quoted => {
                return Some((&filter[..at], &filter[at..]));
            }
            _ => {}
        }
    }
    None
}

/// A JSON string (its escapes read as JSON reads them) or `true`/`false`.
fn value_of(text: &str) -> Option<Value> {
    if text.eq_ignore_ascii_case("true") {
        return Some(Value::Flag(true));
    }
    if text.eq_ignore_ascii_case("false") {
        return Some(Value::Flag(false));
    }
    match serde_json::from_str::<serde_json::Value>(text).ok()? {
        serde_json::Value::String(text) => Some(Value::Text(text)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(filter: &str) -> PeopleFilter {
        parse(filter).unwrap_or_else(|error| panic!("{filter}: {error:?}"))
    }

    #[test]
    fn groups_are_found_by_display_name_or_id() {
        assert_eq!(
            parse_group("displayName eq \"Designers\"").unwrap(),
            GroupFilter::DisplayName("Designers".into())
        );
        assert_eq!(
            parse_group("id eq \"not-an-id\"").unwrap(),
            GroupFilter::Nobody
        );
        for refused in [
            "members eq \"x\"",
            "displayName co \"x\"",
            "displayName eq true",
        ] {
            assert!(parse_group(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn the_filters_identity_providers_send_are_read() {
        let ada = || PeopleFilter::Email("ada@acme.test".parse().unwrap());
        assert_eq!(
            parsed("userName eq \"ada@acme.test\""),
            PeopleFilter::UserName("ada@acme.test".into())
        );
        assert_eq!(
            parsed("USERNAME EQ \"Ada@Acme.test\""),
            PeopleFilter::UserName("Ada@Acme.test".into())
        );
        assert_eq!(
            parsed("emails[type eq \"work\"].value eq \"ada@acme.test\""),
            ada()
        );
        assert_eq!(parsed("emails.value eq \"ada@acme.test\""), ada());
        assert_eq!(
            parsed("emails[ type  eq \"work\" ].value eq \"ada@acme.test\""),
            ada()
        );
        assert_eq!(
            parsed("externalId eq \"00u1\\\"x\""),
            PeopleFilter::ExternalId("00u1\"x".into())
        );
        assert_eq!(parsed("active eq false"), PeopleFilter::Active(false));
        assert_eq!(parsed("active eq True"), PeopleFilter::Active(true));
        assert_eq!(
            parsed("userName eq \"not an address\""),
            PeopleFilter::UserName("not an address".into()),
            "a provider's login name needn't be an address"
        );
        assert_eq!(
            parsed("emails.value eq \"not an address\""),
            PeopleFilter::Nobody
        );
        assert_eq!(parsed("id eq \"42\""), PeopleFilter::Nobody);
    }

    #[test]
    fn anything_else_is_an_invalid_filter() {
        for filter in [
            "",
            "userName",
            "userName eq",
            "userName co \"ada\"",
            "name.givenName eq \"Ada\"",
            "userName eq ada@acme.test",
            "active eq \"yes\"",
            "userName eq \"a\" and active eq true",
            "title pr",
            "externalId eq \"a\\u0000b\"",
        ] {
            assert!(parse(filter).is_err(), "{filter}");
        }
    }
}

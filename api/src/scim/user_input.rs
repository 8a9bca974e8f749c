//! What an identity provider says of a person, read from a User resource (`POST`, `PUT`) or
//! from PATCH operations (RFC 7644 §3.5.2) in the shapes Okta and Entra ID send: an op in any
//! case (`"Replace"`), booleans as strings (`"False"`), no path with an object of attributes,
//! `emails[type eq "work"].value`, `name.givenName`. Attributes of the core User schema the
//! service doesn't keep (`title`, `phoneNumbers`, an extension's) are accepted and ignored;
//! anything else is refused, and a value of the wrong type too, before anything changes.

use serde_json::{Map, Value};

use super::errors::ScimError;
use super::schemas::{PATCH_SCHEMA, USER_SCHEMA};

/// Attributes of the core User schema (RFC 7643 §4.1) kept by no one here.
const IGNORED: [&str; 17] = [
    "nickname",
    "profileurl",
    "title",
    "usertype",
    "preferredlanguage",
    "locale",
    "timezone",
    "password",
    "phonenumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509certificates",
    "meta",
];

/// A person's attributes as SCIM names them; `None`: not said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct UserDraft {
    pub(crate) user_name: Option<String>,
    pub(crate) formatted: Option<String>,
    pub(crate) given_name: Option<String>,
    pub(crate) family_name: Option<String>,
    pub(crate) display_name: Option<String>,
    pub(crate) work_email: Option<String>,
    /// `Some(None)`: forgotten.
    pub(crate) external_id: Option<Option<String>>,
    pub(crate) active: Option<bool>,
    /// `name.formatted` was said by the request (not only read from the person as they are):
    /// a given name, family name or display name said alone then renames them.
    pub(crate) formatted_said: bool,
}

/// A display name split into SCIM's given and family names at its first space: the service
/// keeps one name, and gives it back in the parts a provider sent.
pub(crate) fn split_name(name: &str) -> (String, Option<String>) {
    match name.trim().split_once(' ') {
        Some((given, family)) => (given.to_owned(), Some(family.trim().to_owned())),
        None => (name.trim().to_owned(), None),
    }
}

impl UserDraft {
    /// The display name said: `name.formatted`, else `displayName`, else the given and family
    /// names together.
    pub(crate) fn name(&self) -> Option<String> {
        if let Some(formatted) = self.formatted.as_ref().filter(|f| !f.trim().is_empty()) {
            return Some(formatted.clone());
        }
        if let Some(display) = self.display_name.as_ref().filter(|d| !d.trim().is_empty()) {
            return Some(display.clone());
        }
        let parts: Vec<&str> = [&self.given_name, &self.family_name]
            .into_iter()
            .flatten()
            .map(|part| part.trim())
            .filter(|part| !part.is_empty())
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    }

    /// The address said: the work email, else a `userName` that is an address.
    pub(crate) fn email(&self) -> Option<&str> {
        self.work_email.as_deref().or_else(|| {
            self.user_name
                .as_deref()
                .filter(|name| name.parse::<rules::text::Email>().is_ok())
        })
    }

    /// A whole User resource, as `POST` and `PUT` send it.
    pub(crate) fn from_resource(body: &Map<String, Value>) -> Result<UserDraft, ScimError> {
        if !body.keys().any(|key| key.eq_ignore_ascii_case("schemas")) {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must list \"{USER_SCHEMA}\""
            )));
        }
        let mut draft = UserDraft::default();
        for (key, value) in body {
            if key.eq_ignore_ascii_case("schemas") {
                check_schemas(value, USER_SCHEMA)?;
                continue;
            }
            if key.eq_ignore_ascii_case("id") {
                continue;
            }
            draft.set(&path_of(key)?, Op::Replace, value)?;
        }
        Ok(draft)
    }

    /// Applies a PATCH request's operations, in order, to the person as they are.
    pub(crate) fn patch(&mut self, body: &Map<String, Value>) -> Result<(), ScimError> {
        let schemas = body
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("schemas"))
            .map(|(_, value)| value)
            .ok_or_else(|| {
                ScimError::invalid_syntax(format!("schemas must be [\"{PATCH_SCHEMA}\"]"))
            })?;
        check_schemas(schemas, PATCH_SCHEMA)?;
        let operations = body
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case("Operations"))
            .map(|(_, value)| value)
            .and_then(Value::as_array)
            .filter(|operations| !operations.is_empty())
            .ok_or_else(|| ScimError::invalid_syntax("Operations must be a list of operations"))?;
        for operation in operations {
            self.apply(operation)?;
        }
        Ok(())
    }

    fn apply(&mut self, operation: &Value) -> Result<(), ScimError> {
        let operation = operation
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
        let field = |name: &str| {
            operation
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        };
        let op = match field("op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
        {
            Some(op) if op == "add" || op == "replace" => Op::Replace,
            Some(op) if op == "remove" => Op::Remove,
            _ => {
                return Err(ScimError::invalid_syntax(
                    "op must be add, replace or remove",
                ));
            }
        };
        let value = field("value").unwrap_or(&Value::Null);
        match field("path") {
            Some(Value::String(path)) => self.set(&path_of(path)?, op, value),
            Some(_) => Err(ScimError::invalid_path("path must be a string")),
            None if op == Op::Remove => Err(ScimError::new(
                axum::http::StatusCode::BAD_REQUEST,
                Some("noTarget"),
                "remove needs a path",
            )),
            None => {
                let attributes = value.as_object().ok_or_else(|| {
                    ScimError::invalid_value("an operation without a path needs an object value")
                })?;
                for (key, value) in attributes {
                    self.set(&path_of(key)?, op, value)?;
                }
                Ok(())
            }
        }
    }

    /// A name said in parts renames the person, unless the request says `formatted` too.
    fn unsay_formatted(&mut self) {
        if !self.formatted_said {
            self.formatted = None;
        }
    }

    /// Sets (or removes) what `path` names.
    fn set(&mut self, path: &Path, op: Op, value: &Value) -> Result<(), ScimError> {
        let remove = op == Op::Remove;
        match path {
            Path::UserName if remove => return Err(ScimError::mutability("userName is required")),
            Path::UserName => self.user_name = Some(string(value, "userName")?),
            Path::Active if remove => return Err(ScimError::mutability("active can't be removed")),
            Path::Active => self.active = Some(boolean(value)?),
            Path::ExternalId if remove || value.is_null() => self.external_id = Some(None),
            Path::ExternalId => self.external_id = Some(Some(string(value, "externalId")?)),
            Path::DisplayName => {
                self.display_name = optional(op, value, "displayName")?;
                self.unsay_formatted();
            }
            Path::Name(Some(part)) => {
                let text = optional(op, value, "name")?;
                match part {
                    NamePart::Formatted => {
                        self.formatted = text;
                        self.formatted_said = true;
                    }
                    NamePart::Given => {
                        self.given_name = text;
                        self.unsay_formatted();
                    }
                    NamePart::Family => {
                        self.family_name = text;
                        self.unsay_formatted();
                    }
                    NamePart::Other => {}
                }
            }
            Path::Name(None) if remove => {
                self.formatted = None;
                self.given_name = None;
                self.family_name = None;
            }
            Path::Name(None) => {
                let name = value
                    .as_object()
                    .ok_or_else(|| ScimError::invalid_value("name must be an object"))?;
                for (key, part) in name {
                    self.set(&Path::Name(Some(NamePart::of(key))), op, part)?;
                }
            }
            Path::WorkEmail if remove => {
                return Err(ScimError::mutability("the work email is required"));
            }
            Path::WorkEmail => self.work_email = Some(string(value, "emails.value")?),
            Path::Emails if remove => {
                return Err(ScimError::mutability("the work email is required"));
            }
            Path::Emails => self.work_email = work_email(value)?.or(self.work_email.take()),
            Path::Ignored => {}
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Replace,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NamePart {
    Formatted,
    Given,
    Family,
    /// `middleName`, `honorificPrefix`, …: kept by no one here.
    Other,
}

impl NamePart {
    fn of(name: &str) -> NamePart {
        match name.to_ascii_lowercase().as_str() {
            "formatted" => NamePart::Formatted,
            "givenname" => NamePart::Given,
            "familyname" => NamePart::Family,
            _ => NamePart::Other,
        }
    }
}

/// What an attribute path (or a key of a resource) names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    UserName,
    Active,
    ExternalId,
    DisplayName,
    Name(Option<NamePart>),
    /// `emails[type eq "work"].value` (or the primary one's).
    WorkEmail,
    Emails,
    Ignored,
}

fn path_of(raw: &str) -> Result<Path, ScimError> {
    let lower = raw.trim().to_ascii_lowercase();
    let user_urn = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
    if lower.starts_with("urn:") && !lower.starts_with(&user_urn) {
        // An extension's attribute (the enterprise User's department, manager …).
        return Ok(Path::Ignored);
    }
    let path = lower.strip_prefix(&user_urn).unwrap_or(&lower);
    let compact: String = path.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(match compact.as_str() {
        "username" => Path::UserName,
        "active" => Path::Active,
        "externalid" => Path::ExternalId,
        "displayname" => Path::DisplayName,
        "name" => Path::Name(None),
        "emails" => Path::Emails,
        "emails[typeeq\"work\"].value"
        | "emails[primaryeqtrue].value"
        | "emails[typeeq\"work\"andprimaryeqtrue].value" => Path::WorkEmail,
        other => match other.strip_prefix("name.") {
            Some(part) => Path::Name(Some(NamePart::of(part))),
            None => {
                let attribute = other.split(['.', '[']).next().unwrap_or_default();
                if IGNORED.contains(&attribute) {
                    Path::Ignored
                } else {
                    return Err(ScimError::invalid_path(format!(
                        "{raw:?} is not an attribute of a User here"
                    )));
                }
            }
        },
    })
}

fn check_schemas(value: &Value, expected: &str) -> Result<(), ScimError> {
    let listed = value.as_array().is_some_and(|schemas| {
        schemas.iter().any(|schema| {
            schema
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case(expected))
        })
    });
    if listed {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "schemas must list \"{expected}\""
        )))
    }
}

fn string(value: &Value, name: &str) -> Result<String, ScimError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ScimError::invalid_value(format!("{name} must be a string")))
}

fn optional(op: Op, value: &Value, name: &str) -> Result<Option<String>, ScimError> {
    if op == Op::Remove || value.is_null() {
        return Ok(None);
    }
    string(value, name).map(Some)
}

/// A boolean, or one written as a string the way Entra ID writes it (`"False"`).
fn boolean(value: &Value) -> Result<bool, ScimError> {
    match value {
        Value::Bool(value) => Ok(*value),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value("active must be true or false")),
    }
}

/// The work address of an `emails` list: the one typed `work`, else the primary one, else the
/// first.
fn work_email(value: &Value) -> Result<Option<String>, ScimError> {
    let emails = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("emails must be a list"))?;
    let mut chosen: Option<(u8, String)> = None;
    for email in emails {
        let email = email
            .as_object()
            .ok_or_else(|| ScimError::invalid_value("each email must be an object"))?;
        let get = |name: &str| {
            email
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        };
        let address = string(get("value").unwrap_or(&Value::Null), "emails.value")?;
        let is_work = get("type")
            .and_then(Value::as_str)
            .is_some_and(|kind| kind.eq_ignore_ascii_case("work"));
        let is_primary = get("primary").is_some_and(|primary| boolean(primary).unwrap_or(false));
        let rank = if is_work {
            0
        } else if is_primary {
            1
        } else {
            2
        };
        if chosen.as_ref().is_none_or(|(best, _)| rank < *best) {
            chosen = Some((rank, address));
        }
    }
    Ok(chosen.map(|(_, address)| address))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    fn patch(draft: &mut UserDraft, operations: Value) -> Result<(), ScimError> {
        draft.patch(&object(
            json!({ "schemas": [PATCH_SCHEMA], "Operations": operations }),
        ))
    }

    #[test]
    fn entras_capitalised_replace_with_a_string_boolean_deactivates() {
        let mut draft = UserDraft::default();
        patch(
            &mut draft,
            json!([{ "op": "Replace", "path": "active", "value": "False" }]),
        )
        .expect("Entra's shape");
        assert_eq!(draft.active, Some(false));
    }

    #[test]
    fn oktas_pathless_replace_reads_each_attribute_of_the_value() {
        let mut draft = UserDraft::default();
        patch(
            &mut draft,
            json!([{ "op": "replace", "value": { "active": false, "name": { "givenName": "Ada" } } }]),
        )
        .expect("Okta's shape");
        assert_eq!(draft.active, Some(false));
        assert_eq!(draft.given_name.as_deref(), Some("Ada"));
    }

    #[test]
    fn a_work_email_path_and_name_parts_are_understood() {
        let mut draft = UserDraft::default();
        patch(
            &mut draft,
            json!([
                { "op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@example.com" },
                { "op": "replace", "path": "name.familyName", "value": "Lovelace" },
                { "op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D" },
            ]),
        )
        .expect("supported paths");
        assert_eq!(draft.work_email.as_deref(), Some("ada@example.com"));
        assert_eq!(draft.family_name.as_deref(), Some("Lovelace"));
    }

    #[test]
    fn unknown_paths_wrong_types_and_bad_ops_are_refused() {
        let refused = |operations: Value| {
            let mut draft = UserDraft::default();
            patch(&mut draft, operations).expect_err("refused")
        };
        for operations in [
            json!([{ "op": "replace", "path": "shoeSize", "value": 42 }]),
            json!([{ "op": "replace", "path": "active", "value": "maybe" }]),
            json!([{ "op": "replace", "path": "userName", "value": 7 }]),
            json!([{ "op": "merge", "path": "active", "value": true }]),
            json!([{ "op": "remove", "path": "userName" }]),
            json!([]),
        ] {
            refused(operations);
        }
    }

    #[test]
    fn a_resource_names_its_person_by_formatted_display_or_given_and_family_names() {
        let draft = UserDraft::from_resource(&object(json!({
            "schemas": [USER_SCHEMA],
            "userName": "ada@example.com",
            "name": { "givenName": "Ada", "familyName": "Lovelace" },
            "emails": [{ "value": "home@example.com", "type": "home" }, { "value": "ada@example.com", "type": "work" }],
            "title": "Countess",
        })))
        .expect("a User");
        assert_eq!(draft.name().as_deref(), Some("Ada Lovelace"));
        assert_eq!(draft.email(), Some("ada@example.com"));
        assert_eq!(draft.work_email.as_deref(), Some("ada@example.com"));
        assert!(
            UserDraft::from_resource(&object(json!({ "schemas": [USER_SCHEMA], "shoeSize": 42 })))
                .is_err()
        );
        assert!(UserDraft::from_resource(&object(json!({ "userName": "a@example.com" }))).is_err());
    }

    #[test]
    fn a_name_splits_at_its_first_space() {
        assert_eq!(
            split_name("Ada King Lovelace"),
            ("Ada".into(), Some("King Lovelace".into()))
        );
        assert_eq!(split_name("Ada"), ("Ada".into(), None));
    }
}

//! What an identity provider says of a group, read from a Group resource (`POST`, `PUT`) or
//! from PATCH operations in the shapes Okta and Entra ID send when they push groups: `members`
//! added and removed by value (`{"op":"add","path":"members","value":[{"value":"<id>"}]}`),
//! removed by a filtered path (`members[value eq "<id>"]`), Entra's capitalised ops and its
//! `remove` of `members` with a value, Okta's pathless `replace` of `displayName` (and `id`).

use entities::UserId;
use rules::provisioning::groups::MemberOp;
use serde_json::{Map, Value};

use super::errors::ScimError;
use super::schemas::{GROUP_SCHEMA, PATCH_SCHEMA};

/// A group as a request describes it; `None`: not said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GroupDraft {
    pub(crate) display_name: Option<String>,
    /// `Some(None)`: forgotten.
    pub(crate) external_id: Option<Option<String>>,
    /// The changes of its members, in the request's order.
    pub(crate) members: Vec<MemberOp>,
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

fn has_schema(object: &Map<String, Value>, schema: &str) -> Result<(), ScimError> {
    let listed = field(object, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|schemas| {
            schemas
                .iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(schema)))
        });
    if listed {
        Ok(())
    } else {
        Err(ScimError::invalid_syntax(format!(
            "schemas must list \"{schema}\""
        )))
    }
}

/// A member's id, as `{"value": "<id>"}` gives it.
fn member_id(text: &str) -> Result<UserId, ScimError> {
    text.trim()
        .parse::<uuid::Uuid>()
        .map(UserId::from)
        .map_err(|_| ScimError::invalid_value(format!("{text:?} is not the id of a User")))
}

/// The ids of a `members` list.
fn members(value: &Value) -> Result<Vec<UserId>, ScimError> {
    let list = match value {
        Value::Array(list) => list.as_slice(),
        Value::Null => &[],
        _ => return Err(ScimError::invalid_value("members must be a list")),
    };
    list.iter()
        .map(|member| {
            member
                .as_object()
                .and_then(|member| field(member, "value"))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    ScimError::invalid_value("each member must be {\"value\": \"<id>\"}")
                })
                .and_then(member_id)
        })
        .collect()
}

/// An external id: a string of at most 255 characters without control characters, or null.
fn external_id(value: &Value) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text)
            if !text.is_empty()
                && text.chars().count() <= 255
                && !text.chars().any(char::is_control) =>
        {
            Ok(Some(text.clone()))
        }
        _ => Err(ScimError::invalid_value(
            "externalId must be 1 to 255 characters, without control characters",
        )),
    }
}

fn display_name(value: &Value) -> Result<String, ScimError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ScimError::invalid_value("displayName must be a string"))
}

impl GroupDraft {
    /// A whole Group resource: its name and every member (all others leave).
    pub(crate) fn from_resource(body: &Map<String, Value>) -> Result<GroupDraft, ScimError> {
        has_schema(body, GROUP_SCHEMA)?;
        let mut draft = GroupDraft {
            members: vec![MemberOp::Replace(Vec::new())],
            ..GroupDraft::default()
        };
        for (key, value) in body {
            match key.to_ascii_lowercase().as_str() {
                "schemas" | "id" | "meta" => {}
                "externalid" => draft.external_id = Some(external_id(value)?),
                "displayname" => draft.display_name = Some(display_name(value)?),
                "members" => draft.members = vec![MemberOp::Replace(members(value)?)],
                _ => {
                    return Err(ScimError::invalid_path(format!(
                        "{key:?} is not an attribute of a Group here"
                    )));
                }
            }
        }
        Ok(draft)
    }

    /// A PATCH request's operations, in order.
    pub(crate) fn from_patch(body: &Map<String, Value>) -> Result<GroupDraft, ScimError> {
        has_schema(body, PATCH_SCHEMA)?;
        let operations = field(body, "Operations")
            .and_then(Value::as_array)
            .filter(|operations| !operations.is_empty())
            .ok_or_else(|| ScimError::invalid_syntax("Operations must be a list of operations"))?;
        let mut draft = GroupDraft::default();
        for operation in operations {
            draft.apply(operation)?;
        }
        Ok(draft)
    }

    fn apply(&mut self, operation: &Value) -> Result<(), ScimError> {
        let operation = operation
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("each operation must be an object"))?;
        let op = field(operation, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        let value = field(operation, "value").unwrap_or(&Value::Null);
        let path = match field(operation, "path") {
            None => None,
            Some(Value::String(path)) => Some(path.trim().to_owned()),
            Some(_) => return Err(ScimError::invalid_path("path must be a string")),
        };
        match (op.as_str(), path) {
            ("add" | "replace", None) => {
                let attributes = value.as_object().ok_or_else(|| {
                    ScimError::invalid_value("an operation without a path needs an object value")
                })?;
                for (key, value) in attributes {
                    self.set(&op, key, value)?;
                }
                Ok(())
            }
            ("add" | "replace", Some(path)) => self.set(&op, &path, value),
            ("remove", Some(path)) => self.remove(&path, value),
            ("remove", None) => Err(ScimError::new(
                axum::http::StatusCode::BAD_REQUEST,
                Some("noTarget"),
                "remove needs a path",
            )),
            _ => Err(ScimError::invalid_syntax(
                "op must be add, replace or remove",
            )),
        }
    }

    fn set(&mut self, op: &str, path: &str, value: &Value) -> Result<(), ScimError> {
        match path.to_ascii_lowercase().as_str() {
            "displayname" => self.display_name = Some(display_name(value)?),
            "members" if op == "add" => self.members.push(MemberOp::Add(members(value)?)),
            "members" => self.members.push(MemberOp::Replace(members(value)?)),
            "externalid" => self.external_id = Some(external_id(value)?),
            // Okta sends the group's id with its name; it can't change.
            "id" => {}
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "{path:?} is not an attribute of a Group here"
                )));
            }
        }
        Ok(())
    }

    fn remove(&mut self, path: &str, value: &Value) -> Result<(), ScimError> {
        let compact: String = path.chars().filter(|c| !c.is_whitespace()).collect();
        let lower = compact.to_ascii_lowercase();
        if lower == "externalid" {
            self.external_id = Some(None);
            return Ok(());
        }
        if lower == "members" {
            self.members.push(if value.is_null() {
                MemberOp::Replace(Vec::new())
            } else {
                MemberOp::Remove(members(value)?)
            });
            return Ok(());
        }
        // `members[value eq "<id>"]`
        if let Some(inner) = lower
            .strip_prefix("members[valueeq")
            .and_then(|rest| rest.strip_suffix(']'))
        {
            let id: String = serde_json::from_str(inner)
                .map_err(|_| ScimError::invalid_path(format!("{path:?} names no member")))?;
            self.members.push(MemberOp::Remove(vec![member_id(&id)?]));
            return Ok(());
        }
        Err(ScimError::invalid_path(format!(
            "{path:?} can't be removed from a Group here"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("an object")
    }

    fn patched(operations: Value) -> Result<GroupDraft, ScimError> {
        GroupDraft::from_patch(&object(
            json!({ "schemas": [PATCH_SCHEMA], "Operations": operations }),
        ))
    }

    const ADA: &str = "01939a4e-0000-7000-8000-000000000001";
    const MAX: &str = "01939a4e-0000-7000-8000-000000000002";

    #[test]
    fn okta_and_entra_member_changes_are_read() {
        let draft = patched(json!([
            { "op": "add", "path": "members", "value": [{ "value": ADA }] },
            { "op": "remove", "path": format!("members[value eq \"{MAX}\"]") },
            { "op": "Remove", "path": "members", "value": [{ "value": MAX }] },
            { "op": "replace", "value": { "id": "x", "displayName": "Designers" } },
        ]))
        .expect("the providers' shapes");
        let (ada, max) = (member_id(ADA).unwrap(), member_id(MAX).unwrap());
        assert_eq!(
            draft.members,
            [
                MemberOp::Add(vec![ada]),
                MemberOp::Remove(vec![max]),
                MemberOp::Remove(vec![max]),
            ],
            "in the request's order"
        );
        assert_eq!(draft.display_name.as_deref(), Some("Designers"));
    }

    #[test]
    fn bad_groups_and_operations_are_refused() {
        for operations in [
            json!([{ "op": "add", "path": "members", "value": [{ "value": "not-an-id" }] }]),
            json!([{ "op": "add", "path": "owner", "value": "x" }]),
            json!([{ "op": "replace", "path": "displayName", "value": 3 }]),
            json!([{ "op": "remove" }]),
            json!([{ "op": "move", "path": "members" }]),
        ] {
            assert!(patched(operations.clone()).is_err(), "{operations}");
        }
        assert!(GroupDraft::from_resource(&object(json!({ "displayName": "x" }))).is_err());
        assert!(
            GroupDraft::from_resource(&object(
                json!({ "schemas": [GROUP_SCHEMA], "displayName": "x", "color": "red" })
            ))
            .is_err()
        );
    }
}

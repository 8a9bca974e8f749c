//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5): which attributes of a resource
//! an answer carries. Names are matched without regard to case, with or without the schema's
//! URN before them, and may name a sub-attribute (`name.formatted`); `id` and `schemas` are
//! always returned.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::errors::ScimError;
use super::schemas::USER_SCHEMA;

/// Attributes always returned, whatever was asked.
const ALWAYS: [&str; 2] = ["id", "schemas"];

pub(crate) enum Projection {
    Everything,
    Only(Vec<Vec<String>>),
    Without(Vec<Vec<String>>),
}

/// `name.formatted` as `["name", "formatted"]`, lower case, the schema's URN dropped.
fn paths(list: &str) -> Vec<Vec<String>> {
    let prefix = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
    list.split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .map(|name| {
            if name == prefix.trim_end_matches(':') {
                return Vec::new();
            }
            name.strip_prefix(&prefix)
                .unwrap_or(&name)
                .split('.')
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

impl Projection {
    pub(crate) fn of(parameters: &HashMap<String, String>) -> Result<Projection, ScimError> {
        match (
            parameters.get("attributes"),
            parameters.get("excludedAttributes"),
        ) {
            (Some(_), Some(_)) => Err(ScimError::invalid_value(
                "give attributes or excludedAttributes, not both",
            )),
            // The schema's URN alone asks for all of its attributes.
            (Some(only), None) if paths(only).iter().any(|path| path.is_empty()) => {
                Ok(Projection::Everything)
            }
            (Some(only), None) => Ok(Projection::Only(paths(only))),
            (None, Some(without)) => Ok(Projection::Without(paths(without))),
            (None, None) => Ok(Projection::Everything),
        }
    }

    /// The resource with only the attributes asked for; a complex attribute left with no
    /// sub-attribute is left out.
    pub(crate) fn apply(&self, resource: Value) -> Value {
        match self.projected(resource) {
            Value::Object(attributes) => Value::Object(
                attributes
                    .into_iter()
                    .filter(
                        |(_, value)| !matches!(value, Value::Object(object) if object.is_empty()),
                    )
                    .collect(),
            ),
            other => other,
        }
    }

    fn projected(&self, resource: Value) -> Value {
        let Value::Object(attributes) = resource else {
            return resource;
        };
        let paths = match self {
            Projection::Everything => return Value::Object(attributes),
            Projection::Only(paths) | Projection::Without(paths) => paths,
        };
        let keep = matches!(self, Projection::Only(_));
        Value::Object(
            attributes
                .into_iter()
                .filter_map(|(name, value)| {
                    let key = name.to_ascii_lowercase();
                    if ALWAYS.contains(&key.as_str()) {
                        return Some((name, value));
                    }
                    let named: Vec<&[String]> = paths
                        .iter()
                        .filter(|path| path[0] == key)
                        .map(|path| &path[1..])
                        .collect();
                    let whole = named.iter().any(|rest| rest.is_empty());
                    match (keep, whole, named.is_empty()) {
                        // Asked for whole, or not excluded at all.
                        (true, true, _) | (false, false, true) => Some((name, value)),
                        // Not asked for, or excluded whole.
                        (true, false, true) | (false, true, _) => None,
                        // Some of its sub-attributes asked for, or excluded.
                        (_, false, false) => Some((name, sub_attributes(value, &named, keep))),
                    }
                })
                .collect(),
        )
    }
}

/// Of a complex attribute (or each value of a multi-valued one), the sub-attributes `named`
/// (`keep`), or all but them.
fn sub_attributes(value: Value, named: &[&[String]], keep: bool) -> Value {
    let chosen = |object: Map<String, Value>| {
        Value::Object(
            object
                .into_iter()
                .filter(|(name, _)| {
                    let key = name.to_ascii_lowercase();
                    named.iter().any(|rest| rest[0] == key) == keep
                })
                .collect(),
        )
    };
    match value {
        Value::Object(object) => chosen(object),
        Value::Array(values) => Value::Array(
            values
                .into_iter()
                .map(|value| match value {
                    Value::Object(object) => chosen(object),
                    other => other,
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({ "schemas": ["s"], "id": "1", "userName": "ada@acme.test",
                "name": { "formatted": "Ada" }, "emails": [{ "value": "ada@acme.test", "type": "work" }],
                "active": true })
    }

    fn asking(name: &str, list: &str) -> Projection {
        Projection::of(&HashMap::from([(name.to_owned(), list.to_owned())])).unwrap()
    }

    #[test]
    fn attributes_keep_what_is_asked_and_what_is_always_returned() {
        assert_eq!(
            asking("attributes", "userName").apply(user()),
            json!({ "schemas": ["s"], "id": "1", "userName": "ada@acme.test" })
        );
        assert_eq!(
            asking(
                "attributes",
                "urn:ietf:params:scim:schemas:core:2.0:User:EMAILS.value"
            )
            .apply(user()),
            json!({ "schemas": ["s"], "id": "1", "emails": [{ "value": "ada@acme.test" }] })
        );
    }

    #[test]
    fn the_schemas_urn_alone_asks_for_everything() {
        assert_eq!(
            asking("attributes", "urn:ietf:params:scim:schemas:core:2.0:User").apply(user()),
            user()
        );
    }

    #[test]
    fn excluded_attributes_drop_what_is_named_but_never_the_id() {
        assert_eq!(
            asking("excludedAttributes", "emails,name.formatted,id").apply(user()),
            json!({ "schemas": ["s"], "id": "1", "userName": "ada@acme.test", "active": true })
        );
    }
}

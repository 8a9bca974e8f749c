//! Configuration from environment variables, read with figment into a serde struct of optional
//! fields (`#[serde(rename_all = "SCREAMING_SNAKE_CASE")]`, one field a variable). The variables
//! come in as a map rather than from the process, so a test reads any environment without
//! touching its own.

use std::collections::HashMap;
use std::time::Duration;

use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::DeserializeOwned;

/// Reads `T` out of `vars`. An empty variable counts as unset. Numbers and flags are parsed from
/// their text (`true`/`false`, `yes`/`no`, `on`/`off`, `1`/`0`); a malformed value is refused
/// with a message that names its variable.
pub fn read<T: DeserializeOwned>(vars: &HashMap<String, String>) -> Result<T, String> {
    Figment::from(Variables(vars))
        .extract_lossy()
        .map_err(|error| error.to_string())
}

/// A `…_MS` variable, or the default.
pub fn millis(value: Option<u64>, default: Duration) -> Duration {
    value.map_or(default, Duration::from_millis)
}

/// A set of variables as a test or a tool writes them: `[("SMTP_HOST", "mail")]`.
pub fn variables(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

struct Variables<'a>(&'a HashMap<String, String>);

impl Provider for Variables<'_> {
    fn metadata(&self) -> Metadata {
        // Errors name the variable itself, not figment's `default.VARIABLE` path.
        Metadata::named("the environment").interpolater(|_, keys| keys.join("."))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let variables = self
            .0
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
            .collect();
        Ok(Profile::Default.collect(variables))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    struct Sample {
        max_depth: Option<u32>,
        enabled: Option<bool>,
        password: Option<String>,
    }

    #[test]
    fn values_are_parsed_from_their_text() {
        let sample: Sample = read(&variables(&[
            ("MAX_DEPTH", "12"),
            ("ENABLED", "yes"),
            ("PASSWORD", "12345"),
            ("UNRELATED", "x"),
        ]))
        .unwrap();
        assert_eq!(sample.max_depth, Some(12));
        assert_eq!(sample.enabled, Some(true));
        assert_eq!(sample.password.as_deref(), Some("12345"));
    }

    #[test]
    fn an_empty_variable_is_unset() {
        let sample: Sample = read(&variables(&[("MAX_DEPTH", ""), ("PASSWORD", "")])).unwrap();
        assert!(sample.max_depth.is_none() && sample.password.is_none());
    }

    #[test]
    fn a_malformed_value_is_refused_with_its_variable() {
        for (name, value) in [
            ("MAX_DEPTH", "deep"),
            ("MAX_DEPTH", "-1"),
            ("ENABLED", "maybe"),
        ] {
            let error = read::<Sample>(&variables(&[(name, value)])).unwrap_err();
            assert!(error.contains(&format!("\"{name}\"")), "{error}");
        }
    }
}

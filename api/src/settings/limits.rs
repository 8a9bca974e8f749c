//! The bounds on what one request may ask for, and the variables that change them
//! (`GRAPHQL_MAX_DEPTH`, `HTTP_MAX_BODY_BYTES`, the sign-in and SCIM limits …).

use std::collections::HashMap;

use platform::environment::millis;
use serde::Deserialize;

use super::SettingsError;

/// Bounds on what one request may ask for. async-graphql leaves each unlimited by default.
#[derive(Debug, Clone)]
pub struct Limits {
    pub query_depth: usize,
    pub query_complexity: usize,
    /// Directives on any one field.
    pub directives_per_field: usize,
    /// Operations in one batched request.
    pub batch_size: usize,
    pub body_bytes: usize,
    /// The longest answer one HTTP request gets, batches included.
    pub response_bytes: usize,
    /// The largest `first` a connection accepts.
    pub page_size: usize,
    /// Member ids one HTTP request may name, across its aliases and batched operations.
    pub ids_per_request: usize,
    /// Top-level fields of one request resolved at once: one request can't take the pool.
    pub fields_at_once: usize,
    /// PostgreSQL cancels any statement of the API that runs longer than this.
    pub statement_timeout: std::time::Duration,
    /// Sign-in attempts allowed for one email per hour (a burst of this many, then evenly).
    pub sign_ins_per_email_per_hour: u32,
    /// Sign-in attempts allowed from one client address per minute (likewise).
    pub sign_ins_per_address_per_minute: u32,
    /// Requests one SCIM token may make per minute (a burst of this many, then evenly); 0: no
    /// limit.
    pub scim_requests_per_token_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            query_depth: 12,
            query_complexity: 1_000,
            directives_per_field: 4,
            batch_size: 10,
            // 10,000 ids of 36 characters, quoted and separated, fit with room to spare.
            body_bytes: 1024 * 1024,
            // A preview of 10,000 members, every field asked for, takes 4 MB (docs/BENCHMARKS.md).
            response_bytes: 16 * 1024 * 1024,
            page_size: 100,
            ids_per_request: 10_000,
            fields_at_once: 2,
            statement_timeout: std::time::Duration::from_secs(5),
            sign_ins_per_email_per_hour: 10,
            sign_ins_per_address_per_minute: 60,
            scim_requests_per_token_per_minute: 6_000,
        }
    }
}

/// The variables of [`Limits`] (README.md lists them); each unset one keeps its default.
#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct LimitVariables {
    graphql_max_depth: Option<usize>,
    graphql_max_complexity: Option<usize>,
    graphql_max_directives: Option<usize>,
    graphql_max_batch: Option<usize>,
    http_max_body_bytes: Option<usize>,
    http_max_response_bytes: Option<usize>,
    graphql_max_page_size: Option<usize>,
    graphql_max_ids_per_request: Option<usize>,
    graphql_fields_at_once: Option<usize>,
    database_statement_timeout_ms: Option<u64>,
    sign_in_limit_per_email_per_hour: Option<u32>,
    sign_in_limit_per_address_per_minute: Option<u32>,
    scim_limit_per_token_per_minute: Option<u32>,
}

/// The limits these variables set, `defaults` where they say nothing.
pub(super) fn read(
    all: &HashMap<String, String>,
    defaults: Limits,
) -> Result<Limits, SettingsError> {
    let vars: LimitVariables = platform::environment::read(all).map_err(SettingsError)?;
    Ok(Limits {
        query_depth: vars.graphql_max_depth.unwrap_or(defaults.query_depth),
        query_complexity: vars
            .graphql_max_complexity
            .unwrap_or(defaults.query_complexity),
        directives_per_field: vars
            .graphql_max_directives
            .unwrap_or(defaults.directives_per_field),
        batch_size: vars.graphql_max_batch.unwrap_or(defaults.batch_size),
        body_bytes: vars.http_max_body_bytes.unwrap_or(defaults.body_bytes),
        response_bytes: vars
            .http_max_response_bytes
            .unwrap_or(defaults.response_bytes),
        page_size: vars.graphql_max_page_size.unwrap_or(defaults.page_size),
        ids_per_request: vars
            .graphql_max_ids_per_request
            .unwrap_or(defaults.ids_per_request),
        fields_at_once: vars
            .graphql_fields_at_once
            .unwrap_or(defaults.fields_at_once)
            .max(1),
        statement_timeout: millis(
            vars.database_statement_timeout_ms,
            defaults.statement_timeout,
        ),
        sign_ins_per_email_per_hour: vars
            .sign_in_limit_per_email_per_hour
            .unwrap_or(defaults.sign_ins_per_email_per_hour),
        sign_ins_per_address_per_minute: vars
            .sign_in_limit_per_address_per_minute
            .unwrap_or(defaults.sign_ins_per_address_per_minute),
        scim_requests_per_token_per_minute: vars
            .scim_limit_per_token_per_minute
            .unwrap_or(defaults.scim_requests_per_token_per_minute),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::environment::variables;

    #[test]
    fn each_variable_sets_its_limit_and_the_rest_keep_their_defaults() {
        let limits = read(
            &variables(&[
                ("GRAPHQL_MAX_DEPTH", "7"),
                ("SCIM_LIMIT_PER_TOKEN_PER_MINUTE", "0"),
                ("GRAPHQL_FIELDS_AT_ONCE", "0"),
            ]),
            Limits::default(),
        )
        .unwrap();
        assert_eq!(limits.query_depth, 7);
        assert_eq!(
            limits.scim_requests_per_token_per_minute, 0,
            "0 turns it off"
        );
        assert_eq!(limits.fields_at_once, 1, "at least one field at a time");
        assert_eq!(limits.page_size, Limits::default().page_size);
        assert!(
            read(
                &variables(&[("SCIM_LIMIT_PER_TOKEN_PER_MINUTE", "lots")]),
                Limits::default()
            )
            .is_err()
        );
    }
}

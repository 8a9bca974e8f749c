//! `BOOTSTRAP_*`: the organization, workspace and owner to make on first start, read and
//! checked with the rest of the configuration, so a bad value stops the start before anything
//! is written.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rules::RuleError;
use rules::organizations::bootstrap::{Bootstrap, BootstrapRequest, field, without_line_ending};
use serde::Deserialize;

use super::SettingsError;

/// The bootstrap's environment variables (README.md, "Configuration"); each unset one is
/// `None`.
#[derive(Deserialize)]
struct BootstrapVariables {
    #[serde(rename = "BOOTSTRAP_ORGANIZATION")]
    organization: Option<String>,
    #[serde(rename = "BOOTSTRAP_WORKSPACE")]
    workspace: Option<String>,
    #[serde(rename = "BOOTSTRAP_WORKSPACE_SLUG")]
    workspace_slug: Option<String>,
    #[serde(rename = "BOOTSTRAP_OWNER_EMAIL")]
    owner_email: Option<String>,
    #[serde(rename = "BOOTSTRAP_OWNER_NAME")]
    owner_name: Option<String>,
    #[serde(rename = "BOOTSTRAP_OWNER_PASSWORD")]
    owner_password: Option<String>,
    #[serde(rename = "BOOTSTRAP_OWNER_PASSWORD_FILE")]
    owner_password_file: Option<PathBuf>,
}

/// The bootstrap these variables ask for, if any.
pub(super) fn read(all: &HashMap<String, String>) -> Result<Option<Bootstrap>, SettingsError> {
    let vars: BootstrapVariables = platform::environment::read(all).map_err(SettingsError)?;
    vars.checked()
}

impl BootstrapVariables {
    /// `BOOTSTRAP_*`: none set is no bootstrap; else every required one must be, each checked
    /// as the API checks its kind of text, the password against the product's minimum, so a
    /// bad value stops the start before anything is written.
    fn checked(&self) -> Result<Option<Bootstrap>, SettingsError> {
        let given = [
            &self.organization,
            &self.workspace,
            &self.workspace_slug,
            &self.owner_email,
            &self.owner_name,
            &self.owner_password,
        ]
        .iter()
        .any(|value| value.is_some())
            || self.owner_password_file.is_some();
        if !given {
            return Ok(None);
        }
        let required = |value: &Option<String>, name: &str| {
            value.clone().ok_or_else(|| {
                SettingsError(format!(
                    "{name} must be set too: a bootstrap needs BOOTSTRAP_ORGANIZATION, \
                     BOOTSTRAP_WORKSPACE, BOOTSTRAP_OWNER_EMAIL and BOOTSTRAP_OWNER_PASSWORD \
                     (or BOOTSTRAP_OWNER_PASSWORD_FILE)"
                ))
            })
        };
        let organization = required(&self.organization, "BOOTSTRAP_ORGANIZATION")?;
        let workspace = required(&self.workspace, "BOOTSTRAP_WORKSPACE")?;
        let owner_email = required(&self.owner_email, "BOOTSTRAP_OWNER_EMAIL")?;
        let password = match (&self.owner_password, &self.owner_password_file) {
            (Some(_), Some(_)) => {
                return Err(SettingsError(
                    "set BOOTSTRAP_OWNER_PASSWORD or BOOTSTRAP_OWNER_PASSWORD_FILE, not both"
                        .into(),
                ));
            }
            (Some(password), None) => password.clone(),
            (None, Some(path)) => password_file(path)?,
            (None, None) => required(&None, "BOOTSTRAP_OWNER_PASSWORD")?,
        };
        let request = BootstrapRequest {
            organization: &organization,
            workspace: &workspace,
            workspace_slug: self.workspace_slug.as_deref(),
            owner_email: &owner_email,
            owner_name: self.owner_name.as_deref(),
            owner_password: &password,
        };
        let from_file = self.owner_password_file.is_some();
        Bootstrap::check(request)
            .map(Some)
            .map_err(|refused| SettingsError(bootstrap_refusal(&refused, from_file)))
    }
}

/// A bootstrap's refusal as the environment names things: the variable, then the problem.
pub fn bootstrap_refusal(refused: &RuleError, password_from_file: bool) -> String {
    let RuleError::BadUserInput {
        field: Some(field),
        problem,
    } = refused
    else {
        return format!("{refused:?}");
    };
    let variable = match *field {
        field::ORGANIZATION => "BOOTSTRAP_ORGANIZATION",
        field::WORKSPACE => "BOOTSTRAP_WORKSPACE",
        field::WORKSPACE_SLUG => "BOOTSTRAP_WORKSPACE_SLUG",
        field::OWNER_EMAIL => "BOOTSTRAP_OWNER_EMAIL",
        field::OWNER_NAME => "BOOTSTRAP_OWNER_NAME",
        field::OWNER_PASSWORD if password_from_file => "BOOTSTRAP_OWNER_PASSWORD_FILE",
        field::OWNER_PASSWORD => "BOOTSTRAP_OWNER_PASSWORD",
        other => other,
    };
    format!("{variable} {problem}")
}

/// `BOOTSTRAP_OWNER_PASSWORD_FILE` (a Docker secret): the file's text, less one line ending.
fn password_file(path: &Path) -> Result<String, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        SettingsError(format!(
            "BOOTSTRAP_OWNER_PASSWORD_FILE: can't read {}: {error}",
            path.display()
        ))
    })?;
    Ok(without_line_ending(&text).to_owned())
}

#[cfg(test)]
mod tests {
    use platform::environment::variables;

    use super::super::Settings;

    /// The configuration these variables make.
    #[track_caller]
    fn configured(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_vars(variables(pairs)).unwrap()
    }

    /// Why these variables are refused.
    #[track_caller]
    fn refused(pairs: &[(&str, &str)]) -> String {
        Settings::from_vars(variables(pairs))
            .unwrap_err()
            .to_string()
    }

    const BOOTSTRAP: [(&str, &str); 4] = [
        ("BOOTSTRAP_ORGANIZATION", "Initech"),
        ("BOOTSTRAP_WORKSPACE", "People Ops"),
        ("BOOTSTRAP_OWNER_EMAIL", "peter@initech.test"),
        ("BOOTSTRAP_OWNER_PASSWORD", "12345678"),
    ];

    /// The bootstrap's variables, less `without`, plus `more`.
    fn bootstrap_with(
        without: &str,
        more: &[(&'static str, &'static str)],
    ) -> Vec<(&'static str, &'static str)> {
        BOOTSTRAP
            .into_iter()
            .filter(|(name, _)| *name != without)
            .chain(more.iter().copied())
            .collect()
    }

    #[test]
    fn a_bootstrap_is_read_whole_and_replaces_the_demo() {
        assert!(configured(&[]).bootstrap.is_none());
        let config = configured(&BOOTSTRAP);
        let bootstrap = config.bootstrap.expect("a bootstrap");
        assert_eq!(bootstrap.workspace_slug.as_str(), "people-ops");
        assert_eq!(bootstrap.owner_name.as_str(), "peter");
        assert!(
            !config.demo_data,
            "the embedded default seeds no demo beside it"
        );
        let slugged = configured(&bootstrap_with("", &[("BOOTSTRAP_WORKSPACE_SLUG", "hr")]));
        assert_eq!(slugged.bootstrap.unwrap().workspace_slug.as_str(), "hr");
    }

    #[test]
    fn a_bootstrap_with_a_value_missing_or_wrong_is_refused_naming_its_variable() {
        for missing in [
            "BOOTSTRAP_ORGANIZATION",
            "BOOTSTRAP_WORKSPACE",
            "BOOTSTRAP_OWNER_EMAIL",
            "BOOTSTRAP_OWNER_PASSWORD",
        ] {
            let message = refused(&bootstrap_with(missing, &[]));
            assert!(
                message.starts_with(&format!("{missing} must be set")),
                "{message}"
            );
        }
        let short = refused(&bootstrap_with(
            "BOOTSTRAP_OWNER_PASSWORD",
            &[("BOOTSTRAP_OWNER_PASSWORD", "1234567")],
        ));
        assert_eq!(
            short,
            "BOOTSTRAP_OWNER_PASSWORD must be at least 8 characters"
        );
        let email = refused(&bootstrap_with(
            "BOOTSTRAP_OWNER_EMAIL",
            &[("BOOTSTRAP_OWNER_EMAIL", "peter")],
        ));
        assert!(email.starts_with("BOOTSTRAP_OWNER_EMAIL "), "{email}");
        let reserved = refused(&bootstrap_with(
            "",
            &[("BOOTSTRAP_WORKSPACE_SLUG", "admin")],
        ));
        assert!(
            reserved.starts_with("BOOTSTRAP_WORKSPACE_SLUG "),
            "{reserved}"
        );
        let malformed = refused(&bootstrap_with(
            "",
            &[("BOOTSTRAP_WORKSPACE_SLUG", "People Ops")],
        ));
        assert!(
            malformed.starts_with("BOOTSTRAP_WORKSPACE_SLUG "),
            "{malformed}"
        );
        let named_reserved = refused(&bootstrap_with(
            "BOOTSTRAP_WORKSPACE",
            &[("BOOTSTRAP_WORKSPACE", "Admin")],
        ));
        assert!(
            named_reserved.starts_with("BOOTSTRAP_WORKSPACE makes the slug \"admin\""),
            "the name made it, so the name is named: {named_reserved}"
        );
        let unsluggable = refused(&bootstrap_with(
            "BOOTSTRAP_WORKSPACE",
            &[("BOOTSTRAP_WORKSPACE", "営業")],
        ));
        assert!(
            unsluggable.starts_with("BOOTSTRAP_WORKSPACE has too little"),
            "{unsluggable}"
        );
        let demo = refused(&bootstrap_with("", &[("DEMO_DATA", "true")]));
        assert!(demo.contains("DEMO_DATA=true and BOOTSTRAP_*"), "{demo}");
    }

    #[test]
    fn the_owners_password_may_come_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("owner-password");
        std::fs::write(&file, "from-a-secret\n").unwrap();
        let path = file.to_str().unwrap().to_owned();
        let path: &'static str = Box::leak(path.into_boxed_str());
        let read = configured(&bootstrap_with(
            "BOOTSTRAP_OWNER_PASSWORD",
            &[("BOOTSTRAP_OWNER_PASSWORD_FILE", path)],
        ));
        assert!(read.bootstrap.is_some());
        let both = refused(&bootstrap_with(
            "",
            &[("BOOTSTRAP_OWNER_PASSWORD_FILE", path)],
        ));
        assert!(both.contains("not both"), "{both}");
        std::fs::write(&file, "short\n").unwrap();
        let short = refused(&bootstrap_with(
            "BOOTSTRAP_OWNER_PASSWORD",
            &[("BOOTSTRAP_OWNER_PASSWORD_FILE", path)],
        ));
        assert_eq!(
            short,
            "BOOTSTRAP_OWNER_PASSWORD_FILE must be at least 8 characters"
        );
        let gone = refused(&bootstrap_with(
            "BOOTSTRAP_OWNER_PASSWORD",
            &[(
                "BOOTSTRAP_OWNER_PASSWORD_FILE",
                "/nonexistent/owner-password",
            )],
        ));
        assert!(
            gone.starts_with(
                "BOOTSTRAP_OWNER_PASSWORD_FILE: can't read /nonexistent/owner-password"
            ),
            "{gone}"
        );
    }
}

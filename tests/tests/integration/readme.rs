//! The README is true and stands alone: its links and the repository paths it names are files
//! of this repository, its codegen example generates a client that type-checks, and its lists
//! of audit actions and of root fields are the code's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use entities::AuditAction;
use sea_orm::{ActiveEnum, Iterable};

const README: &str = include_str!("../../../README.md");
const SCHEMA: &str = include_str!("../../../schema.graphql");

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .canonicalize()
        .unwrap()
}

/// The Markdown documents that ship with the repository: the README and docs/.
fn documents() -> Vec<(PathBuf, String)> {
    let root = repository();
    let mut paths = vec![root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "md") {
            paths.push(path);
        }
    }
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path, text)
        })
        .collect()
}

/// The targets of a document's Markdown links and images, `[text](target)`.
fn link_targets(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target))
        .collect()
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c.to_lowercase().next().unwrap_or(c)),
            _ => None,
        })
        .collect()
}

/// Every link of the README and of docs/ is a file of the repository (nothing above it, no
/// `../shared`) or a heading of the same document; the web's addresses are left to the web.
#[test]
fn links_name_files_of_the_repository_or_headings() {
    let root = repository();
    for (path, text) in documents() {
        let headings: BTreeSet<String> = text
            .lines()
            .filter_map(|line| line.strip_prefix('#'))
            .map(|heading| anchor(heading.trim_start_matches('#')))
            .collect();
        for target in link_targets(&text) {
            if target.starts_with("http://") || target.starts_with("https://") {
                continue;
            }
            let shown = format!("{} links to {target}", path.display());
            if let Some(heading) = target.strip_prefix('#') {
                assert!(headings.contains(heading), "{shown}: no such heading");
                continue;
            }
            let file = target.split('#').next().unwrap();
            let resolved = path.parent().unwrap().join(file).canonicalize();
            assert!(
                resolved.is_ok_and(|resolved| resolved.starts_with(&root)),
                "{shown}: not a file of the repository"
            );
        }
    }
    for file in ["README.md", ".cargo/config.toml", "Cargo.toml"] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(
            !text.contains("../shared"),
            "{file} points outside the repository"
        );
    }
}

/// The repository paths the README names in code spans (`api/src/web.rs`, `docs/examples/…`)
/// are there: a file moved or deleted fails here until the README follows.
#[test]
fn paths_the_readme_names_are_there() {
    let root = repository();
    let made_by_tools = ["node_modules", ".venv", "target/", "data/", "src/gql"];
    let named: Vec<&str> = README
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| {
            let first = span.split('/').next().unwrap_or_default();
            span.contains('/')
                && !span.contains([' ', '{', '*', '…', '<', ':', '='])
                && !span.starts_with(['/', '.'])
                && root.join(first).exists()
                && !made_by_tools.iter().any(|made| span.contains(made))
        })
        .collect();
    assert!(named.len() > 20, "the README names its files: {named:?}");
    for path in named {
        assert!(
            root.join(path).exists(),
            "the README names {path}, which isn't there"
        );
    }
}

/// The README's list of audit actions is the code's: every action an entry can record, and
/// nothing else.
#[test]
fn the_readme_lists_every_audit_action_and_no_other() {
    let (_, list) = README
        .split_once("**Audit actions**:")
        .expect("the README lists the audit actions");
    let (list, _) = list.split_once(". Each has actor").unwrap();
    // Its code spans are the actions, and the mutations that write some of them (camelCase).
    let listed: BTreeSet<&str> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        .collect();
    let written: BTreeSet<String> = AuditAction::iter()
        .map(|action| action.to_value())
        .collect();
    let written: BTreeSet<&str> = written.iter().map(String::as_str).collect();
    assert_eq!(listed, written);
}

/// The names of a root type's fields in schema.graphql.
fn root_fields(root: &str) -> BTreeSet<String> {
    let (_, body) = SCHEMA
        .split_once(&format!("type {root} {{"))
        .unwrap_or_else(|| panic!("schema.graphql has {root}"));
    let (body, _) = body.split_once("\n}").unwrap();
    let mut fields = BTreeSet::new();
    let mut in_description = false;
    for line in body.lines().map(str::trim) {
        if line.starts_with("\"\"\"") {
            in_description = !(in_description || line.len() > 3 && line.ends_with("\"\"\""));
            continue;
        }
        if in_description || line.is_empty() {
            continue;
        }
        let name: String = line
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            fields.insert(name);
        }
    }
    fields
}

/// "The API in short" names every query, mutation and subscription in its bullet, and every
/// `name(` it shows there is one.
#[test]
fn the_api_in_short_names_every_root_field_of_the_schema() {
    let (_, section) = README.split_once("## The API in short").unwrap();
    let (section, _) = section.split_once("\n## ").unwrap();
    for (bullet, root, next) in [
        ("- Queries:", "Query", "- Mutations:"),
        ("- Mutations:", "Mutation", "- Subscription:"),
        ("- Subscription:", "Subscription", "\n\n"),
    ] {
        let (_, text) = section.split_once(bullet).unwrap();
        let (text, _) = text.split_once(next).unwrap();
        let fields = root_fields(root);
        assert!(!fields.is_empty(), "{root}");
        for field in &fields {
            let named = [
                format!("`{field}`"),
                format!("`{field}("),
                format!("`{field} "),
            ]
            .iter()
            .any(|form| text.contains(form.as_str()));
            assert!(named, "{bullet} doesn't name {root}.{field}");
        }
        for called in text.split('`').skip(1).step_by(2) {
            if let Some((name, _)) = called.split_once('(')
                && !name.contains([' ', '{'])
            {
                assert!(
                    fields.contains(name),
                    "{bullet} names {name}(…), which {root} hasn't"
                );
            }
        }
    }
}

/// The codegen example, run as the README says from a clone: GraphQL Code Generator makes a
/// client from schema.graphql and the example's operations (so they are valid against it), and
/// `tsc --strict` type-checks the code that uses it.
#[test]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
fn the_codegen_example_generates_a_client_that_type_checks() {
    let example = repository().join("docs/examples/codegen");
    assert!(
        example.join("node_modules/@graphql-codegen/cli").exists(),
        "the codegen example needs its packages: npm ci --prefix docs/examples/codegen \
         (.ci/test installs them)"
    );
    for script in ["codegen", "check"] {
        let output = std::process::Command::new("npm")
            .args(["run", "--silent", script])
            .current_dir(&example)
            .output()
            .expect("npm runs");
        assert!(
            output.status.success(),
            "npm run {script}:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(example.join("src/gql/graphql.ts").exists());
}

//! The `api` binary's command line: serve (the default), `healthcheck`, and `bootstrap`, which
//! makes the first organization from a shell or a Kubernetes Job. The commands call the same
//! rules as the server; this module only reads arguments and prints answers.

use std::process::ExitCode;

use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use secrecy::ExposeSecret;

use crate::Settings;
use rules::RuleError;
use rules::organizations::bootstrap::{
    Bootstrap, BootstrapRequest, Bootstrapped, bootstrap, field, without_line_ending,
};

/// The offboarding service's GraphQL API (and, in the embedded default, its worker).
/// Configured by environment variables: see the README.
#[derive(Parser)]
#[command(version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Exit 0 when the API on BIND_ADDRESS is ready (GET /readyz), 1 when it isn't: for
    /// container healthchecks.
    Healthcheck,
    /// Make the first organization, its first workspace and their owner in the database of
    /// DATABASE_URL, if it holds no organization yet (exit 0 either way; 2 on bad input).
    Bootstrap(BootstrapArgs),
}

#[derive(Args)]
pub struct BootstrapArgs {
    /// The organization's name.
    #[arg(long, value_name = "NAME")]
    organization: String,
    /// The first workspace's name.
    #[arg(long, value_name = "NAME")]
    workspace: String,
    /// The workspace's slug, to sign in by; by default made from its name (lower case,
    /// hyphens).
    #[arg(long, value_name = "SLUG")]
    workspace_slug: Option<String>,
    /// The owner's email: they sign in with it.
    #[arg(long, value_name = "EMAIL")]
    owner_email: String,
    /// The owner's name; by default the part of the email before the @.
    #[arg(long, value_name = "NAME")]
    owner_name: Option<String>,
    /// Read the owner's password from standard input (its first line, without the line
    /// ending), so it shows in no process list or shell history: pipe it in, or redirect a file.
    #[arg(long, required = true)]
    password_stdin: bool,
}

/// The arguments and the password read from standard input, checked as the API checks them;
/// else what is wrong, naming the option.
fn checked(args: BootstrapArgs) -> Result<Bootstrap, String> {
    let mut password = String::new();
    std::io::stdin()
        .read_line(&mut password)
        .map_err(|error| format!("--password-stdin: can't read standard input: {error}"))?;
    let password = without_line_ending(&password);
    let request = BootstrapRequest {
        organization: &args.organization,
        workspace: &args.workspace,
        workspace_slug: args.workspace_slug.as_deref(),
        owner_email: &args.owner_email,
        owner_name: args.owner_name.as_deref(),
        owner_password: password,
    };
    Bootstrap::check(request).map_err(|refused| refusal(&refused))
}

/// A rule's refusal as the command line names things: the option, then the problem.
fn refusal(refused: &RuleError) -> String {
    match refused {
        RuleError::BadUserInput {
            field: Some(name),
            problem,
        } => {
            let option = match *name {
                field::ORGANIZATION => "--organization",
                field::WORKSPACE => "--workspace",
                field::WORKSPACE_SLUG => "--workspace-slug",
                field::OWNER_EMAIL => "--owner-email",
                field::OWNER_NAME => "--owner-name",
                field::OWNER_PASSWORD => "the password (--password-stdin)",
                other => other,
            };
            format!("{option} {problem}")
        }
        RuleError::Rejected(refusals) => refusals
            .iter()
            .map(|refusal| refusal.message.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Exit code 2: the input can't be used, and nothing was written.
const BAD_INPUT: u8 = 2;

/// `api bootstrap`: prints one line saying what was made, or that it was already done.
pub async fn run_bootstrap(config: &Settings, args: BootstrapArgs) -> ExitCode {
    let checked = match checked(args) {
        Ok(checked) => checked,
        Err(problem) => {
            eprintln!("{problem}; nothing was changed");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let url = config.worker.database.url.expose_secret();
    let db = match platform::db::connect(url).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("can't reach the database: {error}");
            return ExitCode::FAILURE;
        }
    };
    match bootstrap(&db, &checked, Utc::now()).await {
        Ok(Bootstrapped::Created(made)) => {
            println!(
                "bootstrapped: organization \"{}\", workspace \"{}\" (slug {}), owner {}; sign in at {}",
                made.organization.name,
                made.workspace.name,
                made.workspace.slug,
                checked.owner_email.as_str(),
                config.worker.public_url,
            );
            ExitCode::SUCCESS
        }
        Ok(Bootstrapped::AlreadyDone) => {
            println!(
                "already bootstrapped: the database holds an organization; nothing was changed"
            );
            ExitCode::SUCCESS
        }
        Err(refused @ (RuleError::BadUserInput { .. } | RuleError::Rejected(_))) => {
            eprintln!("{}; nothing was changed", refusal(&refused));
            ExitCode::from(BAD_INPUT)
        }
        Err(error) => {
            eprintln!("bootstrap failed: {error:?}");
            ExitCode::FAILURE
        }
    }
}

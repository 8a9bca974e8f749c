//! What the api tells whoever started it: where the API, the People page and GraphiQL are, who
//! can sign in, and the demo owner's token. A person at a terminal reads it as text on stdout;
//! with `LOG_FORMAT=json` it is JSON events on stdout instead (`telemetry::WELCOME`), one per
//! line like every other line the process writes, and never in the logs.

use std::fmt;

/// Who can sign in to the People page.
pub enum SignIn {
    /// This person, in this workspace (the demo's owner, or the bootstrap's).
    As { workspace: String, email: String },
    /// Nobody: the database holds no organization (the words say what to do).
    Nobody(&'static str),
    /// Whoever the database's organizations have.
    Members,
}

/// The demo's owner, their session token and workspace.
pub struct DemoWelcome {
    pub owner_email: String,
    pub token: String,
    pub workspace_id: String,
    pub password: &'static str,
}

pub struct Welcome {
    pub graphql: String,
    pub people_page: String,
    /// GraphiQL's address, when it is served.
    pub graphiql: Option<String>,
    pub sign_in: SignIn,
    pub demo: Option<DemoWelcome>,
}

impl Welcome {
    /// The welcome as `welcome` events: `listening` (the addresses, who can sign in), then
    /// `demo data loaded` (the owner's `Authorization` header and a first query), if any.
    pub fn emit(&self) {
        let (workspace, email, nobody) = match &self.sign_in {
            SignIn::As { workspace, email } => (Some(workspace), Some(email), None),
            SignIn::Nobody(words) => (None, None, Some(*words)),
            SignIn::Members => (None, None, None),
        };
        tracing::info!(
            target: telemetry::WELCOME,
            graphql = %self.graphql,
            people_page = %self.people_page,
            graphiql = self.graphiql.as_deref(),
            sign_in_workspace = workspace.map(String::as_str),
            sign_in_email = email.map(String::as_str),
            nobody_can_sign_in = nobody,
            "listening"
        );
        if let Some(demo) = &self.demo {
            tracing::info!(
                target: telemetry::WELCOME,
                owner = %demo.owner_email,
                authorization = %format!("Bearer {}", demo.token),
                workspace_id = %demo.workspace_id,
                password = demo.password,
                "demo data loaded"
            );
        }
    }
}

impl fmt::Display for Welcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "GraphQL API listening on {}", self.graphql)?;
        write!(f, "People page: open {} in a browser", self.people_page)?;
        match &self.sign_in {
            SignIn::As { workspace, email } => write!(f, " (workspace {workspace}, {email})")?,
            SignIn::Nobody(words) => write!(f, " — but {words}")?,
            SignIn::Members => {}
        }
        if let Some(graphiql) = &self.graphiql {
            write!(f, "\nGraphiQL: open {graphiql} in a browser")?;
            if self.demo.is_some() {
                write!(
                    f,
                    " (the owner's token and a first query are already filled in)"
                )?;
            }
        }
        if let Some(demo) = &self.demo {
            write!(
                f,
                "\n\nDemo data is loaded. To act as the owner ({owner}) of the Marketing \
                 workspace from another client, send:\n\n  {{\"Authorization\": \"Bearer {token}\"}}\n\n\
                 Then try:  {{ members(workspaceId: \"{workspace}\") {{ edges {{ node {{ user {{ name email }} role status }} }} }} }}\n\
                 Every demo person signs in with the password \"{password}\".",
                owner = demo.owner_email,
                token = demo.token,
                workspace = demo.workspace_id,
                password = demo.password,
            )?;
        }
        Ok(())
    }
}

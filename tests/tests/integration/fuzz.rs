//! Schema-aware random operations: a small generator reads the schema through introspection and
//! sends thousands of queries and mutations built from it — real ids and random ones, hostile
//! strings, out-of-range numbers, wrong types, missing and extra arguments — as the owner, as a
//! member, as an API key and with no token. Whatever it sends, the answer is a well-formed
//! GraphQL response: never a 5xx, never INTERNAL, never a dropped connection (which is what a
//! panic in a resolver looks like from outside). The seed is printed, and `FUZZ_SEED=<n>`
//! replays a run; `FUZZ_OPERATIONS` sets how many are sent per backend (default 2,000).

use entities::{OrganizationId, WorkspaceId};
use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::EntityTrait;
use serde_json::{Map, Value, json};
use tests::{TestApp, backend_tests, data};
use uuid::Uuid;

use crate::support::{ADA, MIA};

/// Operations the generator leaves out: `signOut` would end the very sessions it acts with.
const LEFT_OUT: &[&str] = &["signOut"];

struct Schema {
    types: HashMap<String, Value>,
}

impl Schema {
    async fn read(app: &TestApp) -> Schema {
        let answer = app
            .graphql(
                None,
                "{ __schema { types { name kind enumValues { name }
                    inputFields { name type { ...Ref } }
                    fields { name type { ...Ref } args { name type { ...Ref } } } } } }
                 fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }",
                Value::Null,
            )
            .await;
        let types = data(&answer)["__schema"]["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ty| {
                (
                    ty["name"].as_str().unwrap().to_owned(),
                    ty.clone().into_value(),
                )
            })
            .collect();
        Schema { types }
    }
}

/// A type reference as GraphQL writes it: `[UUID!]!`.
fn type_string(ty: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_string(&ty["ofType"])),
        "LIST" => format!("[{}]", type_string(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap().to_owned(),
    }
}

fn named(ty: &Value) -> &str {
    match ty["name"].as_str() {
        Some(name) => name,
        None => named(&ty["ofType"]),
    }
}

struct Generator<'a> {
    rng: StdRng,
    schema: &'a Schema,
    ids: Vec<Uuid>,
    workspace_id: WorkspaceId,
    organization_id: OrganizationId,
    /// This operation's values may be hostile; otherwise they are well-typed and plausible, so
    /// that operations also get past validation and into the rules.
    hostile: bool,
}

impl Generator<'_> {
    fn string(&mut self) -> Value {
        if !self.hostile {
            let clean = [
                "ada.admin@acme.test",
                "new.person@acme.test",
                "Ada",
                "left the company",
                "key-1",
                "team_membership_remove",
            ];
            return json!(clean[self.rng.random_range(0..clean.len())]);
        }
        let pool = [
            String::new(),
            "ada.admin@acme.test".into(),
            "olivia.owner@acme.test".into(),
            "a@b@c.com".into(),
            "x\u{0}y".into(),
            "line\r\nbreak".into(),
            "\u{1b}[31mred".into(),
            "AAAA".into(),
            "' OR 1=1 --".into(),
            "100%_\\".into(),
            "Zoë 李 🚀".into(),
            "\u{202e}evil".into(),
            "team_membership_remove".into(),
            "x".repeat(2_000),
            format!("ofs_{}", "a".repeat(40)),
            "ofi_not-a-token".into(),
        ];
        json!(pool[self.rng.random_range(0..pool.len())])
    }

    fn scalar(&mut self, name: &str, field: &str) -> Value {
        // Now and then a value of the wrong type altogether.
        if self.hostile && self.rng.random_bool(0.05) {
            return [
                json!(42),
                json!("text"),
                json!(true),
                json!({ "a": 1 }),
                json!([1]),
            ][self.rng.random_range(0..5)]
            .clone();
        }
        match name {
            "UUID" if !self.hostile && field == "workspaceId" => json!(self.workspace_id),
            "UUID" if !self.hostile && field == "organizationId" => json!(self.organization_id),
            "UUID" if !self.hostile => json!(self.ids[self.rng.random_range(0..self.ids.len())]),
            "Int" if !self.hostile => json!(self.rng.random_range(1..=20)),
            "UUID" => match self.rng.random_range(0..10) {
                0 => json!(Uuid::now_v7()),
                1 => json!("not-a-uuid"),
                _ => json!(self.ids[self.rng.random_range(0..self.ids.len())]),
            },
            "Int" => {
                json!([0, -1, 1, 2, 20, 100, 101, i32::MAX, i32::MIN][self.rng.random_range(0..9)])
            }
            "Boolean" => json!(self.rng.random_bool(0.5)),
            _ => self.string(),
        }
    }

    /// A value for `ty`, arriving in the argument or input field named `field`.
    fn value(&mut self, ty: &Value, field: &str, depth: usize) -> Value {
        match ty["kind"].as_str().unwrap() {
            "NON_NULL" => self.value(&ty["ofType"], field, depth),
            "LIST" => {
                let count = match self.rng.random_range(0..10) {
                    0 if self.hostile => 0,
                    1 if self.hostile => 30,
                    _ => self.rng.random_range(1..4),
                };
                Value::Array(
                    (0..count)
                        .map(|_| self.value(&ty["ofType"], field, depth))
                        .collect(),
                )
            }
            "ENUM" => {
                let values = self.schema.types[named(ty)]["enumValues"]
                    .as_array()
                    .unwrap()
                    .clone();
                if self.hostile && self.rng.random_bool(0.05) {
                    json!("NOT_A_VALUE")
                } else {
                    values[self.rng.random_range(0..values.len())]["name"].clone()
                }
            }
            "INPUT_OBJECT" if depth < 4 => {
                let fields = self.schema.types[named(ty)]["inputFields"]
                    .as_array()
                    .unwrap()
                    .clone();
                let mut object = Map::new();
                for field in fields {
                    let required = field["type"]["kind"] == "NON_NULL";
                    let name = field["name"].as_str().unwrap();
                    if required && self.rng.random_bool(0.97) || self.wanted(name) {
                        object.insert(name.to_owned(), self.value(&field["type"], name, depth + 1));
                    }
                }
                Value::Object(object)
            }
            "INPUT_OBJECT" => json!({}),
            _ => self.scalar(named(ty), field),
        }
    }

    /// Whether to send an optional argument or field: a clean operation sends no cursor (it
    /// has none from the list) and no idempotency key (it would replay the first answer).
    fn wanted(&mut self, name: &str) -> bool {
        if !self.hostile && matches!(name, "after" | "idempotencyKey") {
            return false;
        }
        self.rng.random_bool(0.5)
    }

    /// Arguments as `(name: $vN)`, declaring and filling the variables they use.
    fn arguments(
        &mut self,
        args: &[Value],
        declared: &mut Vec<String>,
        variables: &mut Map<String, Value>,
    ) -> String {
        let mut parts = Vec::new();
        for arg in args {
            let required = arg["type"]["kind"] == "NON_NULL";
            let name = arg["name"].as_str().unwrap();
            if !(required && self.rng.random_bool(0.97) || self.wanted(name)) {
                continue;
            }
            let variable = format!("v{}", declared.len());
            declared.push(format!("${variable}: {}", type_string(&arg["type"])));
            variables.insert(variable.clone(), self.value(&arg["type"], name, 0));
            parts.push(format!("{}: ${variable}", arg["name"].as_str().unwrap()));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }

    fn selection(
        &mut self,
        type_name: &str,
        depth: usize,
        declared: &mut Vec<String>,
        variables: &mut Map<String, Value>,
    ) -> String {
        let fields = self.schema.types[type_name]["fields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut picked = Vec::new();
        for field in &fields {
            let target = &self.schema.types[named(&field["type"])];
            let leaf = matches!(target["kind"].as_str(), Some("SCALAR" | "ENUM"));
            if !leaf && depth >= 3 || !self.rng.random_bool(if leaf { 0.6 } else { 0.4 }) {
                continue;
            }
            let args = self.arguments(field["args"].as_array().unwrap(), declared, variables);
            let name = field["name"].as_str().unwrap();
            if leaf {
                picked.push(format!("{name}{args}"));
            } else {
                let inner = self.selection(named(&field["type"]), depth + 1, declared, variables);
                picked.push(format!("{name}{args} {{ {inner} }}"));
            }
        }
        if picked.is_empty() {
            "__typename".into()
        } else {
            picked.join(" ")
        }
    }

    fn operation(&mut self) -> (String, Value) {
        self.hostile = self.rng.random_bool(0.5);
        let (keyword, root) = if self.rng.random_bool(0.5) {
            ("query", "Query")
        } else {
            ("mutation", "Mutation")
        };
        let fields: Vec<Value> = self.schema.types[root]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                !LEFT_OUT.contains(&f["name"].as_str().unwrap())
                    && !f["name"].as_str().unwrap().starts_with("__")
            })
            .cloned()
            .collect();
        let field = fields[self.rng.random_range(0..fields.len())].clone();
        let mut declared = Vec::new();
        let mut variables = Map::new();
        let args = self.arguments(
            field["args"].as_array().unwrap(),
            &mut declared,
            &mut variables,
        );
        let target = named(&field["type"]).to_owned();
        let leaf = matches!(
            self.schema.types[&target]["kind"].as_str(),
            Some("SCALAR" | "ENUM")
        );
        let selection = if leaf {
            String::new()
        } else {
            format!(
                " {{ {} }}",
                self.selection(&target, 1, &mut declared, &mut variables)
            )
        };
        let header = if declared.is_empty() {
            String::new()
        } else {
            format!("({})", declared.join(", "))
        };
        (
            format!(
                "{keyword}{header} {{ {}{args}{selection} }}",
                field["name"].as_str().unwrap()
            ),
            Value::Object(variables),
        )
    }
}

backend_tests! {
    random_operations_never_fail_inside,
}

async fn random_operations_never_fail_inside(app: TestApp) {
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let count: usize = std::env::var("FUZZ_OPERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    eprintln!(
        "fuzzing {count} operations on {:?} with FUZZ_SEED={seed}",
        app.backend
    );
    let schema = Schema::read(&app).await;
    let mut ids = vec![app.demo.workspace_id.0, app.demo.organization_id.0];
    // Everyone but the people the fuzzer acts as: removing them would end its own sessions
    // early and leave the rest of the run unauthenticated.
    let actors = [app.demo.owner_email.as_str(), MIA, ADA];
    for person in entities::user::Entity::find().all(app.db()).await.unwrap() {
        if !actors.contains(&person.email.as_str()) {
            ids.push(person.id.0);
        }
    }
    let member = app.sign_in(MIA).await;
    let ada = app.sign_in(ADA).await;
    let answer = app.graphql(Some(&ada), "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { token } }",
        json!({ "i": { "workspaceId": app.demo.workspace_id, "name": "Fuzz", "role": "ADMIN" } })).await;
    let key = data(&answer)["createApiKey"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let tokens = [
        Some(app.owner_token().to_owned()),
        Some(member),
        Some(key),
        None,
    ];
    let mut generator = Generator {
        rng: StdRng::seed_from_u64(seed),
        schema: &schema,
        ids,
        workspace_id: app.demo.workspace_id,
        organization_id: app.demo.organization_id,
        hostile: false,
    };
    let mut reached_resolvers = 0;
    let mut codes: std::collections::BTreeMap<String, usize> = Default::default();
    for n in 0..count {
        let (document, variables) = generator.operation();
        let token = &tokens[n % tokens.len()];
        let request = app.graphql_request(token.as_deref(), &document, variables.clone());
        let response = request.send().await.unwrap_or_else(|error| {
            panic!(
                "operation {n} (FUZZ_SEED={seed}) got no answer: {error}\n{document}\n{variables}"
            )
        });
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status.as_u16() < 500,
            "operation {n} (FUZZ_SEED={seed}) answered {status}: {body}\n{document}\n{variables}"
        );
        let answer: Value =
            serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON: {body}"));
        for error in answer["errors"].as_array().into_iter().flatten() {
            let code = error["extensions"]["code"]
                .as_str()
                .unwrap_or_else(|| panic!("an error without a code: {answer}"));
            *codes.entry(code.to_owned()).or_default() += 1;
            assert_ne!(
                code, "INTERNAL",
                "operation {n} (FUZZ_SEED={seed}) failed inside: {answer}\n{document}\n{variables}"
            );
        }
        // Past validation: some field answered, or a resolver raised the error (it has a path).
        let resolved = answer
            .get("data")
            .and_then(|data| data.as_object())
            .is_some_and(|d| d.values().any(|v| !v.is_null()))
            || answer["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|e| e["path"].as_array().is_some_and(|p| !p.is_empty()));
        if resolved {
            reached_resolvers += 1;
        }
    }
    eprintln!("{reached_resolvers} of {count} reached the resolvers; error codes: {codes:?}");
    // The generator must reach the resolvers, not only the validator.
    assert!(
        reached_resolvers * 2 >= count,
        "only {reached_resolvers} of {count} operations got past validation"
    );
}

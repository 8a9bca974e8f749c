//! Hostile input at the edge: control characters and NUL in every free-text input, malformed
//! emails and cursors, one request trying to starve everyone, a key bringing back its creator,
//! and sign-in guessing.

use std::collections::BTreeSet;

use entities::{audit_entry, membership, user};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::{
    Answer, Backend, Fetch, TestApp, backend_tests, data, error_code, ok, user_error_codes,
};
use uuid::Uuid;

use crate::support::{
    ADA, AUDIT_LOG, INVITE, OLIVIA, PREVIEW, REASSIGN, REMOVE, RESTORE, VIEWER, create_api_key,
    give_all_contacts_to_the_owner, people,
};

/// Rows that any accepted mutation adds to; a refused input must leave them as they were.
async fn footprint(app: &TestApp) -> (u64, u64, u64) {
    (
        user::Entity::find().count(app.db()).await.unwrap(),
        membership::Entity::find().count(app.db()).await.unwrap(),
        audit_entry::Entity::find().count(app.db()).await.unwrap(),
    )
}

/// Every `String` argument and input field of the schema, as `Type.field` or `Query.field(arg)`,
/// read through introspection.
async fn string_inputs(app: &TestApp) -> BTreeSet<String> {
    let answer = app
        .graphql(
            None,
            "{ __schema { types { name kind
                inputFields { name type { ...Named } }
                fields { name args { name type { ...Named } } } } } }
             fragment Named on __Type { name ofType { name ofType { name ofType { name } } } }",
            Value::Null,
        )
        .await;
    fn is_string(ty: &Value) -> bool {
        ty["name"] == "String" || (!ty["ofType"].is_null() && is_string(&ty["ofType"]))
    }
    let mut found = BTreeSet::new();
    for ty in data(&answer)["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap();
        if name.starts_with("__") {
            continue;
        }
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            if is_string(&field["type"]) {
                found.insert(format!("{name}.{}", field["name"].as_str().unwrap()));
            }
        }
        for field in ty["fields"].as_array().into_iter().flatten() {
            for arg in field["args"].as_array().into_iter().flatten() {
                if is_string(&arg["type"]) {
                    found.insert(format!(
                        "{name}.{}({})",
                        field["name"].as_str().unwrap(),
                        arg["name"].as_str().unwrap()
                    ));
                }
            }
        }
    }
    found
}

backend_tests! {
    every_free_text_input_refuses_control_characters_and_names_its_field,
    a_reason_keeps_its_line_breaks,
    emails_are_parsed_by_a_real_address_parser,
    nul_never_reaches_the_database,
    sixty_aliases_over_ten_thousand_ids_are_refused_before_they_run,
    ids_are_capped_across_aliases_and_batched_operations,
    a_key_never_brings_back_its_creator,
    a_stranger_to_the_workspace_is_member_not_found_when_reassigning,
    a_batch_of_guesses_counts_every_guess,
    one_client_address_is_limited_across_emails => three_sign_ins_a_minute,
    invitation_acceptances_count_against_the_address_limit => three_sign_ins_a_minute,
    the_websocket_is_no_way_around_the_address_limit => three_sign_ins_a_minute,
    behind_a_trusted_proxy_each_client_address_is_limited_apart => behind_a_proxy_on_loopback,
}

/// Accepting an invitation checks or hashes a password for anyone who sends a token: it counts
/// against the client address's allowance as signing in does. With three a minute, the fourth
/// attempt is RATE_LIMITED before anything is looked up (a valid token included).
async fn invitation_acceptances_count_against_the_address_limit(app: TestApp) {
    let accept = |token: &str| {
        app.graphql(
            None,
            "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { userErrors { code } } }",
            json!({ "input": { "token": token, "password": "long-enough-password" } }),
        )
    };
    for guess in 0..3 {
        let answer = accept(&format!("ofi_guess{guess}")).await;
        assert_eq!(
            user_error_codes(&data(&answer)["acceptInvitation"]),
            ["INVITATION_INVALID"],
            "{answer}"
        );
    }
    let invited = app
        .owner_mutates(
            INVITE,
            json!({ "email": "limited@acme.test", "role": "MEMBER", "sendEmail": false }),
        )
        .await;
    let link = invited["invitationToken"].as_str().unwrap().to_owned();
    let answer = accept(&link).await;
    assert_eq!(error_code(&answer), "RATE_LIMITED", "{answer}");
    assert!(
        answer["errors"][0]["extensions"]["retryAfter"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let pending = crate::support::stored_invitation(&app, "limited@acme.test").await;
    assert!(
        pending.accepted_at.is_none(),
        "the limited attempt accepted nothing"
    );
}

/// A mutation sent over the WebSocket runs once, as over HTTP: it counts against the address
/// that opened the socket, so three guesses there, then the fourth is RATE_LIMITED.
async fn the_websocket_is_no_way_around_the_address_limit(app: TestApp) {
    let accept = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { userErrors { code } } }";
    let mut codes = Vec::new();
    for guess in 0..4 {
        let input = json!({ "input": { "token": format!("ofi_guess{guess}"), "password": "long-enough-password" } });
        let messages = app
            .subscribe(
                None,
                accept,
                input,
                std::time::Duration::from_secs(10),
                None,
            )
            .await;
        let payload = &messages[0]["payload"];
        codes.push(match payload.get("errors") {
            Some(errors) => errors[0]["extensions"]["code"].as_str().unwrap().to_owned(),
            None => user_error_codes(&payload["data"]["acceptInvitation"])[0].to_owned(),
        });
    }
    assert_eq!(
        codes,
        [
            "INVITATION_INVALID",
            "INVITATION_INVALID",
            "INVITATION_INVALID",
            "RATE_LIMITED"
        ]
    );
}

/// Three a minute, so that no cell comes back while a test runs (one every 20 s).
fn three_sign_ins_a_minute(config: &mut tests::Settings) {
    config.limits.sign_ins_per_address_per_minute = 3;
}

/// The test itself, on loopback, is the trusted proxy.
fn behind_a_proxy_on_loopback(config: &mut tests::Settings) {
    three_sign_ins_a_minute(config);
    config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
}

async fn every_free_text_input_refuses_control_characters_and_names_its_field(app: TestApp) {
    let owner = app.owner_token().to_owned();
    let cases = free_text_cases(&app).await;
    let covered: BTreeSet<String> = cases.iter().map(|(input, ..)| input.clone()).collect();
    let mut in_schema = string_inputs(&app).await;
    // Directives' arguments are the engine's own, not ours.
    in_schema.retain(|input| !input.starts_with("Query.__") && !input.contains("@"));
    assert_eq!(
        covered, in_schema,
        "every String input of the schema has a case here"
    );

    let before = footprint(&app).await;
    for hostile in ["x\u{0}y", "x\r\ny", "\u{7}bell", "x\u{1b}[31m", "x\u{7f}"] {
        for (input, field, document, variables) in &cases {
            if *field == "reason" && hostile == "x\r\ny" {
                // A reason keeps its line breaks: tested below.
                continue;
            }
            let answer = app
                .graphql(Some(&owner), document, with_hostile(variables, hostile))
                .await;
            assert_eq!(
                error_code(&answer),
                "BAD_USER_INPUT",
                "{input} with {hostile:?}: {answer}"
            );
            let error = &answer["errors"][0];
            assert_eq!(error["extensions"]["field"], *field, "{input}: {answer}");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap()
                    .starts_with(&format!("`{field}` ")),
                "{answer}"
            );
            assert!(
                answer.get("data").is_none_or(|data| data
                    .as_object()
                    .is_none_or(|d| d.values().all(Value::is_null))),
                "{answer}"
            );
        }
    }
    assert_eq!(
        footprint(&app).await,
        before,
        "no refused input changed anything"
    );
}

/// One free-text input: the schema input it covers, its field, the document, and its
/// variables with `BAD` where the hostile text goes.
type Case = (String, String, String, Value);

const KEY: &str = "idempotencyKey";

/// Every free-text input of the schema.
async fn free_text_cases(app: &TestApp) -> Vec<Case> {
    let ws = app.demo.workspace_id;
    let org = app.demo.organization_id;
    let [mia, ada] = people(app, ["mia.member@acme.test", ADA]).await;
    let password = "long enough password";
    let sign_in = json!({ "workspaceId": ws, "email": OLIVIA, "password": "pw" });
    let by_slug = json!({ "email": OLIVIA, "password": "pw" });
    let no_token = json!({ "password": password });
    let accept = json!({ "token": "ofi_x", "password": password });
    let api_key = json!({ "workspaceId": ws, "name": "Sync", "role": "MEMBER" });
    let invite = json!({ "workspaceId": ws, "email": "new@acme.test", "role": "MEMBER" });
    let mias = json!({ "workspaceId": ws, "userIds": [mia] });
    let mia_here = json!({ "workspaceId": ws, "userId": mia });
    let handover = json!({ "workspaceId": ws, "fromUserId": ada,
        "assignments": [{ "duty": "TECHNICAL_CONTACT", "toUserId": mia }] });
    let transfer = json!({ "workspaceId": ws, "toUserId": ada });
    let role = json!({ "workspaceId": ws, "userId": mia, "role": "GUEST" });
    let limit = json!({ "organizationId": org, "seatLimit": 100 });
    let unknown_key = json!({ "apiKeyId": Uuid::now_v7() });
    let invitation = json!({ "invitationId": Uuid::now_v7() });
    let job = json!({ "jobId": Uuid::now_v7() });
    let new_workspace = json!({ "organizationId": org, "name": "Fine", "slug": "fine-slug" });
    let renamed = json!({ "workspaceId": ws, "name": "Fine" });
    let scim = json!({ "organizationId": org, "workspaceId": ws, "name": "Okta" });
    let scim_token = json!({ "scimTokenId": Uuid::now_v7() });
    // (mutation, its input's free-text fields, an input the server would take)
    let mutations: Vec<(&str, &[&str], &Value)> = vec![
        ("signIn", &["email", "password"], &sign_in),
        ("signIn", &["workspaceSlug"], &by_slug),
        ("acceptInvitation", &["token"], &no_token),
        ("acceptInvitation", &["name", "password"], &accept),
        ("createApiKey", &["name", KEY], &api_key),
        ("inviteMember", &["email", KEY], &invite),
        ("removeMembers", &["reason", KEY], &mias),
        ("deactivateUser", &["reason", KEY], &mia_here),
        ("reactivateUser", &[KEY], &mia_here),
        ("restoreMember", &[KEY], &mia_here),
        ("reassignContacts", &[KEY], &handover),
        ("transferOwnership", &[KEY], &transfer),
        ("endSessions", &[KEY], &mia_here),
        ("revokeApiKey", &["reason", KEY], &unknown_key),
        ("updateMemberRole", &[KEY], &role),
        ("updateSeatLimit", &[KEY], &limit),
        ("revokeInvitation", &[KEY], &invitation),
        ("resendInvitation", &[KEY], &invitation),
        ("retryJob", &[KEY], &job),
        ("createWorkspace", &["name", "slug", KEY], &new_workspace),
        ("updateWorkspace", &["name", KEY], &renamed),
        ("createScimToken", &["name", KEY], &scim),
        ("revokeScimToken", &[KEY], &scim_token),
    ];
    let mut cases = Vec::new();
    for (mutation, fields, input) in mutations {
        let ty = input_type(mutation);
        let document = format!("mutation($i: {ty}!) {{ {mutation}(input: $i) {{ __typename }} }}");
        for field in fields {
            let mut input = input.clone();
            input[*field] = json!("BAD");
            let variables = json!({ "i": input });
            cases.push(case(&format!("{ty}.{field}"), &document, variables));
        }
    }
    // Lists' cursors, and the free text of queries.
    for list in [
        "members",
        "offboardings",
        "removedMembers",
        "apiKeys",
        "invitations",
    ] {
        let document = format!(
            "query($ws: UUID!, $a: String) {{ {list}(workspaceId: $ws, after: $a) {{ totalCount }} }}"
        );
        let variables = json!({ "ws": ws, "a": "BAD" });
        cases.push(case(&format!("Query.{list}(after)"), &document, variables));
    }
    let holders = "query($org: UUID!, $a: String) { seatUsage(organizationId: $org) { holders(after: $a) { totalCount } } }";
    let scim_tokens = "query($org: UUID!, $a: String) { scimTokens(organizationId: $org, after: $a) { totalCount } }";
    let sessions = "query($ws: UUID!, $u: UUID!, $a: String) { sessions(workspaceId: $ws, userId: $u, after: $a) { totalCount } }";
    let search = "query($ws: UUID!, $s: String) { members(workspaceId: $ws, filter: { search: $s }) { totalCount } }";
    let removed_search = "query($ws: UUID!, $s: String) { removedMembers(workspaceId: $ws, filter: { search: $s }) { totalCount } }";
    let at_org = json!({ "org": org, "a": "BAD" });
    let of_mia = json!({ "ws": ws, "u": mia, "a": "BAD" });
    let searched = json!({ "ws": ws, "s": "BAD" });
    let after = json!({ "ws": ws, "after": "BAD" });
    cases.extend([
        case("SeatUsage.holders(after)", holders, at_org.clone()),
        case("Query.scimTokens(after)", scim_tokens, at_org),
        case("Query.sessions(after)", sessions, of_mia),
        case("MemberFilterInput.search", search, searched.clone()),
        case("RemovedMemberFilterInput.search", removed_search, searched),
        case("Query.auditLog(after)", AUDIT_LOG, after),
        case(
            "Query.invitationOpening(token)",
            "query($t: String!) { invitationOpening(token: $t) { userErrors { code } } }",
            json!({ "t": "BAD" }),
        ),
    ]);
    cases
}

/// The case of `input` (`Type.field` or `Type.field(argument)`): its field is the argument, or
/// else the field.
fn case(input: &str, document: &str, variables: Value) -> Case {
    let field = match input.split_once('(') {
        Some((_, argument)) => argument.trim_end_matches(')'),
        None => input.rsplit('.').next().unwrap_or(input),
    };
    (input.into(), field.into(), document.into(), variables)
}

/// A mutation's input type: `signIn` takes a `SignInInput`, and so on, but for the one input
/// two invitation mutations share.
fn input_type(mutation: &str) -> String {
    if mutation == "revokeInvitation" {
        return "InvitationActionInput".into();
    }
    format!("{}{}Input", mutation[..1].to_uppercase(), &mutation[1..])
}

async fn a_reason_keeps_its_line_breaks(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let mia = people(&app, ["mia.member@acme.test"]).await[0];
    let payload = app
        .owner_mutates(
            REMOVE,
            json!({ "userIds": [mia], "reason": "Left the company.\r\nContract ended." }),
        )
        .await;
    ok(&payload);
    let answer = app.as_owner(AUDIT_LOG, json!({ "ws": app.demo.workspace_id, "filter": { "action": "TEAM_MEMBERSHIP_REMOVE" } })).await;
    assert_eq!(
        data(&answer)["auditLog"]["edges"][0]["node"]["reason"],
        "Left the company.\nContract ended."
    );
}

async fn emails_are_parsed_by_a_real_address_parser(app: TestApp) {
    let before = footprint(&app).await;
    for bad in [
        "a@b@c.com",
        "a..b@c.com",
        "a@.com",
        "ada",
        "ada@acme.test\nBcc: eve@evil.test",
        // Forms the mailer can't carry: every email to them would be DEAD.
        "\"<script>x</script>\"@x.test",
        "\"ada lovelace\"@acme.test",
        "ada@[127.0.0.1]",
    ] {
        let answer = app
            .call(
                app.owner_token(),
                INVITE,
                json!({ "email": bad, "role": "MEMBER" }),
            )
            .await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{bad:?}: {answer}");
        assert_eq!(answer["errors"][0]["extensions"]["field"], "email");
    }
    assert_eq!(footprint(&app).await, before);
    // A real address, however it is cased, is kept lower-cased.
    let payload = app
        .owner_mutates(
            INVITE,
            json!({ "email": " New.Person@Acme.Test ", "role": "MEMBER" }),
        )
        .await;
    assert_eq!(payload["member"]["user"]["email"], "new.person@acme.test");
}

async fn nul_never_reaches_the_database(app: TestApp) {
    // Unauthenticated, with NUL in the email: refused at the edge, not INTERNAL.
    let answer = app.graphql(None, "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
        json!({ "i": { "workspaceId": app.demo.workspace_id, "email": "a\u{0}b", "password": "x" } })).await;
    assert_eq!(error_code(&answer), "BAD_USER_INPUT", "{answer}");
    // "AAAA" is base64 for NUL bytes; "" is no cursor at all. Every list refuses both alike.
    let (ws, org) = (app.demo.workspace_id, app.demo.organization_id);
    let members =
        "query($ws: UUID!, $a: String) { members(workspaceId: $ws, after: $a) { totalCount } }";
    let holders = "query($org: UUID!, $a: String) { seatUsage(organizationId: $org) { holders(after: $a) { totalCount } } }";
    let scim_tokens = "query($org: UUID!, $a: String) { scimTokens(organizationId: $org, after: $a) { totalCount } }";
    for after in ["AAAA", "", "%%%"] {
        for (list, document, variables) in [
            ("members", members, json!({ "ws": ws, "a": after })),
            ("auditLog", AUDIT_LOG, json!({ "ws": ws, "after": after })),
            ("holders", holders, json!({ "org": org, "a": after })),
            ("scimTokens", scim_tokens, json!({ "org": org, "a": after })),
        ] {
            let answer = app.as_owner(document, variables).await;
            let code = error_code(&answer);
            assert_eq!(code, "BAD_USER_INPUT", "{list} after {after:?}: {answer}");
        }
    }
    // A cursor the list handed out still works.
    let answer = app
        .as_owner(
            "query($ws: UUID!) { members(workspaceId: $ws, first: 2) { pageInfo { endCursor } } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    let cursor = data(&answer)["members"]["pageInfo"]["endCursor"].clone();
    let answer = app.as_owner("query($ws: UUID!, $a: String) { members(workspaceId: $ws, after: $a) { edges { node { id } } } }", json!({ "ws": app.demo.workspace_id, "a": cursor })).await;
    assert!(
        !data(&answer)["members"]["edges"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

async fn sixty_aliases_over_ten_thousand_ids_are_refused_before_they_run(app: TestApp) {
    let ids: Vec<Uuid> = (0..10_000).map(|_| Uuid::now_v7()).collect();
    let aliases: String = (0..60)
        .map(|i| format!("p{i}: removalPreview(workspaceId: $ws, userIds: $ids) {{ canRemove members {{ userId blockers {{ code }} }} }} "))
        .collect();
    let document = format!("query($ws: UUID!, $ids: [UUID!]!) {{ {aliases} }}");
    let heavy = app.as_owner(
        &document,
        json!({ "ws": app.demo.workspace_id, "ids": ids }),
    );
    let viewer = async {
        let answer = app.as_owner(VIEWER, Value::Null).await;
        data(&answer)["viewer"]["role"].as_str().unwrap().to_owned()
    };
    let (heavy, role) = tokio::join!(heavy, viewer);
    assert_eq!(error_code(&heavy), "QUERY_TOO_COMPLEX", "{heavy}");
    assert!(heavy.get("data").is_none(), "nothing ran: {heavy}");
    assert_eq!(role, "OWNER");
    // One call over all 10,000 fits.
    let answer = app
        .as_owner(PREVIEW, json!({ "ws": app.demo.workspace_id, "ids": ids }))
        .await;
    assert_eq!(
        data(&answer)["removalPreview"]["members"]
            .as_array()
            .unwrap()
            .len(),
        10_000
    );
}

async fn ids_are_capped_across_aliases_and_batched_operations(app: TestApp) {
    let ids: Vec<Uuid> = (0..6_000).map(|_| Uuid::now_v7()).collect();
    let one = "p: removalPreview(workspaceId: $ws, userIds: $ids) { canRemove }";
    // Two aliases of 6,000 ids fit the complexity limit but not the 10,000 ids of a request.
    let document = format!(
        "query($ws: UUID!, $ids: [UUID!]!) {{ {} {} }}",
        one,
        one.replace("p:", "q:")
    );
    let answer = app
        .as_owner(
            &document,
            json!({ "ws": app.demo.workspace_id, "ids": ids }),
        )
        .await;
    let errors = answer["errors"].as_array().expect("one alias refused");
    assert_eq!(errors.len(), 1, "{answer}");
    assert_eq!(errors[0]["extensions"]["code"], "BAD_USER_INPUT");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 10000 member ids")
    );
    // The same across the operations of a batch.
    let operation =
        json!({ "query": PREVIEW, "variables": { "ws": app.demo.workspace_id, "ids": ids } });
    let answers: Answer = app
        .client
        .post(app.graphql_url())
        .bearer_auth(app.owner_token())
        .json(&json!([operation, operation]))
        .answer()
        .await;
    let refused: Vec<&Answer> = answers.items().iter().filter(|a| a.has_errors()).collect();
    assert_eq!(refused.len(), 1, "{answers}");
    assert_eq!(error_code(refused[0]), "BAD_USER_INPUT");
    // A new request has a budget of its own.
    let answer = app
        .as_owner(PREVIEW, json!({ "ws": app.demo.workspace_id, "ids": ids }))
        .await;
    assert!(!answer.has_errors(), "{answer}");
}

async fn a_key_never_brings_back_its_creator(app: TestApp) {
    give_all_contacts_to_the_owner(&app).await;
    let ada_id = people(&app, [ADA]).await[0];
    let ada = app.sign_in(ADA).await;
    let key = create_api_key(&app, &ada, "Automation", "ADMIN").await;
    app.remove_members(&[ada_id]).await;
    // The key survives (revokeApiKeys was false) and still works for automation…
    let answer = app.graphql(Some(&key), VIEWER, Value::Null).await;
    assert_eq!(data(&answer)["viewer"]["role"], "ADMIN");
    let before = footprint(&app).await;
    // …but can't restore the person who made it, nor invite them (or anyone: a key whose
    // creator is gone hands out no access).
    let answer = app.call(&key, RESTORE, json!({ "userId": ada_id })).await;
    assert_eq!(error_code(&answer), "FORBIDDEN", "{answer}");
    for email in [ADA, "someone.else@acme.test"] {
        let answer = app
            .call(&key, INVITE, json!({ "email": email, "role": "MEMBER" }))
            .await;
        assert_eq!(error_code(&answer), "FORBIDDEN", "{answer}");
    }
    // (The audit trail may still grow: the removal's side effects run meanwhile.)
    let after = footprint(&app).await;
    assert_eq!((after.0, after.1), (before.0, before.1));
}

async fn a_stranger_to_the_workspace_is_member_not_found_when_reassigning(app: TestApp) {
    // Someone who is a member of Research only.
    let research = entities::workspace::Entity::find()
        .all(app.db())
        .await
        .unwrap()
        .into_iter()
        .find(|w| w.slug == "acme-research")
        .unwrap()
        .id;
    let olivia_research = app.sign_in_to(research, OLIVIA).await;
    let payload = app.mutate(&olivia_research, INVITE, json!({ "workspaceId": research, "email": "rita.research@acme.test", "role": "MEMBER" }))
    .await;
    let rita = payload["member"]["user"]["id"].clone();
    let mia = people(&app, ["mia.member@acme.test"]).await[0];
    for stranger in [rita.into_value(), json!(Uuid::now_v7())] {
        let payload = app.owner_mutates(REASSIGN, json!({ "fromUserId": stranger, "assignments": [{ "duty": "TECHNICAL_CONTACT", "toUserId": mia }] })).await;
        assert_eq!(
            user_error_codes(&payload),
            ["MEMBER_NOT_FOUND"],
            "{payload}"
        );
        assert_eq!(payload["userErrors"][0]["field"], "fromUserId");
    }
}

async fn a_batch_of_guesses_counts_every_guess(app: TestApp) {
    let ws = app.demo.workspace_id;
    let guess = |password: &str| {
        json!({ "query": "mutation($i: SignInInput!) { signIn(input: $i) { token userErrors { code } } }",
        "variables": { "i": { "workspaceId": ws, "email": ADA, "password": password } } })
    };
    let batch: Vec<Value> = (0..10).map(|i| guess(&format!("guess {i}"))).collect();
    let answers: Answer = app
        .client
        .post(app.graphql_url())
        .json(&batch)
        .answer()
        .await;
    for answer in answers.as_array().unwrap() {
        assert_eq!(
            user_error_codes(&data(answer)["signIn"]),
            ["INVALID_CREDENTIALS"],
            "{answer}"
        );
    }
    // The eleventh attempt this hour is refused before the password is looked at, even the
    // right one.
    let response = app
        .client
        .post(app.graphql_url())
        .json(&guess(rules::demo::DEMO_PASSWORD))
        .send()
        .await
        .unwrap();
    let header: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let answers: Answer = response.json().await.unwrap();
    assert_eq!(error_code(&answers), "RATE_LIMITED", "{answers}");
    let retry_after = answers["errors"][0]["extensions"]["retryAfter"]
        .as_u64()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{answers}");
    assert_eq!(
        header, retry_after,
        "a single operation's wait is also a Retry-After header"
    );
    assert!(answers.did_not_run("signIn"));
    // Another person is not held back by it.
    app.sign_in("mia.member@acme.test").await;
}

async fn one_client_address_is_limited_across_emails(app: TestApp) {
    let ws = app.demo.workspace_id;
    let mut limited = 0;
    for i in 0..4 {
        let answer = app.graphql(None, "mutation($i: SignInInput!) { signIn(input: $i) { token userErrors { code } } }",
            json!({ "i": { "workspaceId": ws, "email": format!("guess{i}@acme.test"), "password": "wrong password" } })).await;
        if answer.has_errors() && error_code(&answer) == "RATE_LIMITED" {
            limited += 1;
        } else {
            assert_eq!(
                user_error_codes(&data(&answer)["signIn"]),
                ["INVALID_CREDENTIALS"],
                "{answer}"
            );
        }
    }
    assert_eq!(
        limited, 1,
        "the 4th attempt in a minute from one address is refused"
    );
    // A client can't dodge the limit by claiming another address: no proxy is trusted.
    let answer = app.client.post(app.graphql_url()).header("x-forwarded-for", "198.51.100.1")
        .json(&json!({ "query": "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
            "variables": { "i": { "workspaceId": ws, "email": "guess@acme.test", "password": "wrong password" } } }))
        .answer().await;
    assert_eq!(error_code(&answer), "RATE_LIMITED");
}

// Behind a trusted proxy (here, the test itself on loopback), each forwarded client has a
// limit of its own.
async fn behind_a_trusted_proxy_each_client_address_is_limited_apart(app: TestApp) {
    let ws = app.demo.workspace_id;
    let attempt = |client: &'static str| {
        let request = app.client.post(app.graphql_url()).header("x-forwarded-for", client)
            .json(&json!({ "query": "mutation($i: SignInInput!) { signIn(input: $i) { token } }",
                "variables": { "i": { "workspaceId": ws, "email": format!("{client}@acme.test"), "password": "wrong password" } } }));
        async move { request.answer().await }
    };
    for _ in 0..3 {
        assert!(!attempt("198.51.100.1").await.has_errors());
    }
    assert_eq!(error_code(&attempt("198.51.100.1").await), "RATE_LIMITED");
    assert!(
        !attempt("198.51.100.2").await.has_errors(),
        "another client behind the same proxy"
    );
}

/// `variables` with every `"BAD"` replaced by `hostile`.
fn with_hostile(variables: &Value, hostile: &str) -> Value {
    match variables {
        Value::String(text) if text == "BAD" => Value::String(hostile.to_owned()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(name, value)| (name.clone(), with_hostile(value, hostile)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| with_hostile(v, hostile)).collect())
        }
        other => other.clone(),
    }
}

#[tokio::test]
async fn suggestions_are_not_given_when_introspection_is_off() {
    let open = tests::spawn_app(Backend::Sqlite).await;
    let answer = open.graphql(None, "{ viewr { role } }", Value::Null).await;
    assert!(answer.to_string().contains("Did you mean"), "{answer}");
    let closed =
        tests::spawn_app_with(Backend::Sqlite, |config| config.introspection = false).await;
    for document in [
        "{ viewr { role } }",
        "mutation { removeMember { __typename } }",
    ] {
        let answer = closed.graphql(None, document, Value::Null).await;
        assert_eq!(error_code(&answer), "BAD_USER_INPUT");
        assert!(!answer.to_string().contains("Did you mean"), "{answer}");
    }
}

/// PostgreSQL cancels any statement of the API that runs longer than the configured timeout.
#[tokio::test]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn api_statements_have_a_timeout_on_postgres() {
    let app = tests::spawn_app(Backend::Postgres).await;
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .db()
        .query_one_raw(Statement::from_string(
            app.db().get_database_backend(),
            "SHOW statement_timeout",
        ))
        .await
        .unwrap()
        .unwrap();
    let setting: String = row.try_get("", "statement_timeout").unwrap();
    assert_eq!(setting, "5s");
    let error = app
        .db()
        .execute_unprepared("SELECT pg_sleep(6)")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("statement timeout"), "{error}");
    assert!(
        rules::error::is_statement_timeout(&error),
        "answered TIMEOUT, not INTERNAL"
    );
}

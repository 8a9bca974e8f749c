//! The authorization matrix: every operation that needs a permission, asked by a MEMBER who
//! lacks it (FORBIDDEN), and with another workspace's (or organization's) ids by an OWNER of
//! this one (NOT_FOUND, never a hint that they exist). Each refused call changes nothing.

use serde_json::{Value, json};
use tests::{TestApp, backend_tests, data, error_code};

use crate::support::{
    ADA, DEACTIVATE, INVITE, MAX, MIA, OLIVIA, PREVIEW, REACTIVATE, REASSIGN, REMOVE, RESTORE,
    TRANSFER, create_api_key_in, people, snapshot, stored_invitation,
};

/// An operation: its document, and its variables given a workspace, an organization and a
/// person of that workspace.
struct Operation {
    name: &'static str,
    document: &'static str,
    variables: fn(&Ids) -> Value,
    /// What a MEMBER asking about someone else gets: FORBIDDEN, or None where any member may.
    member_gets: Option<&'static str>,
}

/// The ids an operation is sent with: the demo workspace's, or Research's (another workspace)
/// with a random organization.
struct Ids {
    workspace: Value,
    organization: Value,
    person: Value,
    other_person: Value,
    api_key: Value,
    invitation: Value,
}

const FORBIDDEN: Option<&str> = Some("FORBIDDEN");

fn input(ids: &Ids, more: Value) -> Value {
    let mut input = json!({ "workspaceId": ids.workspace });
    for (key, value) in more.as_object().unwrap() {
        input[key] = value.clone();
    }
    json!({ "input": input })
}

/// The lists of a workspace, which take its id alone: the field, what is selected of it, and
/// what a MEMBER gets.
const WORKSPACE_LISTS: &[(&str, &str, Option<&str>)] = &[
    ("offboardings", "totalCount", FORBIDDEN),
    ("auditLog", "totalCount", FORBIDDEN),
    ("removedMembers", "totalCount", FORBIDDEN),
    ("invitations", "totalCount", FORBIDDEN),
    ("members", "totalCount", None),
    ("groups", "name", None),
    ("apiKeys", "totalCount", None),
];

/// The variables of an operation that takes the workspace alone.
fn workspace_only(ids: &Ids) -> Value {
    json!({ "ws": ids.workspace })
}

/// The variables of a query about one person of the workspace.
fn workspace_and_person(ids: &Ids) -> Value {
    json!({ "ws": ids.workspace, "u": ids.person })
}

/// The input of a mutation about one person of the workspace.
fn person_input(ids: &Ids) -> Value {
    input(ids, json!({ "userId": ids.person }))
}

const OPERATIONS: &[Operation] = &[
    Operation {
        name: "seatUsage",
        document: "query($org: UUID!) { seatUsage(organizationId: $org) { used } }",
        variables: |ids| json!({ "org": ids.organization }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "removalPreview",
        document: PREVIEW,
        variables: |ids| json!({ "ws": ids.workspace, "ids": [ids.person] }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "matchingMembers",
        document: "query($ws: UUID!) { matchingMembers(workspaceId: $ws) { more } }",
        variables: |ids| json!({ "ws": ids.workspace }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "statusChangePreview",
        document: "query($ws: UUID!, $u: UUID!) { statusChangePreview(workspaceId: $ws, userId: $u, change: DEACTIVATE) { canChange } }",
        variables: workspace_and_person,
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "sessions",
        document: "query($ws: UUID!, $u: UUID!) { sessions(workspaceId: $ws, userId: $u) { totalCount } }",
        variables: workspace_and_person,
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "member",
        document: "query($ws: UUID!, $u: UUID!) { member(workspaceId: $ws, userId: $u) { member { role } } }",
        variables: workspace_and_person,
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "inviteMember",
        document: INVITE,
        variables: |ids| {
            input(
                ids,
                json!({ "email": "matrix@example.com", "role": "GUEST" }),
            )
        },
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "removeMembers",
        document: REMOVE,
        variables: |ids| input(ids, json!({ "userIds": [ids.person] })),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "deactivateUser",
        document: DEACTIVATE,
        variables: person_input,
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "reactivateUser",
        document: REACTIVATE,
        variables: person_input,
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "reassignContacts",
        document: REASSIGN,
        variables: |ids| {
            input(
                ids,
                json!({ "fromUserId": ids.other_person,
                        "assignments": [{ "duty": "TECHNICAL_CONTACT", "toUserId": ids.person }] }),
            )
        },
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "transferOwnership",
        document: TRANSFER,
        variables: |ids| input(ids, json!({ "toUserId": ids.person })),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "restoreMember",
        document: RESTORE,
        variables: person_input,
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "createApiKey",
        document: "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { token } }",
        variables: |ids| input(ids, json!({ "name": "Matrix", "role": "GUEST" })),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "updateMemberRole",
        document: "mutation($input: UpdateMemberRoleInput!) { updateMemberRole(input: $input) { userErrors { code } } }",
        variables: |ids| input(ids, json!({ "userId": ids.person, "role": "GUEST" })),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "endSessions",
        document: "mutation($input: EndSessionsInput!) { endSessions(input: $input) { sessionsEnded } }",
        variables: person_input,
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "updateSeatLimit",
        document: "mutation($input: UpdateSeatLimitInput!) { updateSeatLimit(input: $input) { seatLimit } }",
        variables: |ids| json!({ "input": { "organizationId": ids.organization, "seatLimit": 1000 } }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "createWorkspace",
        document: "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { workspace { id } } }",
        variables: |ids| json!({ "input": { "organizationId": ids.organization, "name": "Matrix", "slug": "matrix" } }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "createScimToken",
        document: "mutation($input: CreateScimTokenInput!) { createScimToken(input: $input) { secret } }",
        variables: |ids| json!({ "input": { "organizationId": ids.organization, "workspaceId": ids.workspace, "name": "Matrix" } }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "scimTokens",
        document: "query($org: UUID!) { scimTokens(organizationId: $org) { totalCount } }",
        variables: |ids| json!({ "org": ids.organization }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "revokeApiKey",
        document: "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { userErrors { code } } }",
        variables: |ids| json!({ "input": { "apiKeyId": ids.api_key } }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "revokeInvitation",
        document: "mutation($input: InvitationActionInput!) { revokeInvitation(input: $input) { userErrors { code } } }",
        variables: |ids| json!({ "input": { "invitationId": ids.invitation } }),
        member_gets: FORBIDDEN,
    },
    Operation {
        name: "resendInvitation",
        document: "mutation($input: ResendInvitationInput!) { resendInvitation(input: $input) { userErrors { code } } }",
        variables: |ids| json!({ "input": { "invitationId": ids.invitation } }),
        member_gets: FORBIDDEN,
    },
];

backend_tests! {
    every_operation_refuses_a_member_without_its_permission_and_another_workspaces_ids,
}

async fn every_operation_refuses_a_member_without_its_permission_and_another_workspaces_ids(
    app: TestApp,
) {
    let [max, ada] = people(&app, [MAX, ADA]).await;
    let id_of = |answer: &tests::Answer, pointer: &str| {
        let value = data(answer).clone().into_value();
        let id = value.pointer(pointer).cloned().unwrap_or(Value::Null);
        assert!(id.is_string(), "{pointer} in {value}");
        id
    };
    // This workspace's key (Ada's: Mia may revoke her own) and invitation (Ivy's).
    let owner = app.owner_token().to_owned();
    let here = Ids {
        workspace: json!(app.demo.workspace_id),
        organization: json!(app.demo.organization_id),
        person: json!(max),
        other_person: json!(ada),
        api_key: id_of(
            &app.graphql(
                Some(&owner),
                "query($ws: UUID!, $ada: UUID!) {
                    apiKeys(workspaceId: $ws, filter: { createdBy: $ada }) { nodes { apiKey { id } } } }",
                json!({ "ws": app.demo.workspace_id, "ada": ada }),
            )
            .await,
            "/apiKeys/nodes/0/apiKey/id",
        ),
        invitation: id_of(
            &app.graphql(
                Some(&owner),
                "query($ws: UUID!) { invitations(workspaceId: $ws) { nodes { invitation { id } } } }",
                json!({ "ws": app.demo.workspace_id }),
            )
            .await,
            "/invitations/nodes/0/invitation/id",
        ),
    };
    // Research's: a key and an invitation made there by its owner.
    let research = crate::access::research_workspace(&app).await;
    let olivia_there = app.sign_in_to(research, OLIVIA).await;
    let key_there = create_api_key_in(&app, &olivia_there, research, "Lab", "GUEST").await;
    let invited_there = app
        .graphql(
            Some(&olivia_there),
            "mutation($i: InviteMemberInput!) { inviteMember(input: $i) { invitationToken } }",
            // No email: the worker would write its link's hash while the snapshots are taken.
            json!({ "i": { "workspaceId": research, "email": "lab@example.com", "role": "GUEST", "sendEmail": false } }),
        )
        .await;
    assert!(data(&invited_there)["inviteMember"]["invitationToken"].is_string());
    let invitation_there = stored_invitation(&app, "lab@example.com").await.id;
    let there = Ids {
        workspace: json!(research),
        organization: json!(uuid::Uuid::now_v7()),
        person: json!(max),
        other_person: json!(ada),
        api_key: key_there["apiKey"]["id"].clone().into_value(),
        invitation: json!(invitation_there),
    };

    let mia = app.sign_in(MIA).await;
    let callers = Callers {
        app: &app,
        member: &mia,
        owner: &owner,
        here: &here,
        there: &there,
    };
    let before = snapshot(&app).await;
    for operation in OPERATIONS {
        callers
            .are_refused(
                operation.name,
                operation.document,
                operation.variables,
                operation.member_gets,
            )
            .await;
    }
    for &(name, selection, member_gets) in WORKSPACE_LISTS {
        let document =
            format!("query($ws: UUID!) {{ {name}(workspaceId: $ws) {{ {selection} }} }}");
        callers
            .are_refused(name, &document, workspace_only, member_gets)
            .await;
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "no refused call changed anything"
    );
}

/// Who sends each operation: a MEMBER of this workspace with its ids, and its OWNER with another
/// workspace's.
struct Callers<'a> {
    app: &'a TestApp,
    member: &'a str,
    owner: &'a str,
    here: &'a Ids,
    there: &'a Ids,
}

impl Callers<'_> {
    /// The member gets `member_gets` (where it is not None), and the owner with another
    /// workspace's ids NOT_FOUND; both as the error code of the answer.
    async fn are_refused(
        &self,
        name: &str,
        document: &str,
        variables: fn(&Ids) -> Value,
        member_gets: Option<&str>,
    ) {
        let callers = [
            (self.member, self.here, member_gets, "by a member"),
            (
                self.owner,
                self.there,
                Some("NOT_FOUND"),
                "with another workspace's ids",
            ),
        ];
        for (token, ids, expected, who) in callers {
            let Some(expected) = expected else { continue };
            let answer = self
                .app
                .graphql(Some(token), document, variables(ids))
                .await;
            assert_eq!(error_code(&answer), expected, "{name} {who}: {answer}");
        }
    }
}

backend_tests! {
    a_key_of_any_role_acts_as_itself_never_as_its_creator,
    // No worker: the removal's jobs would change the workspace between the snapshots.
    a_removed_creators_key_hands_out_no_access => crate::support::no_worker,
}

/// What a caller gets: a top-level error's code, else the payload's first `userErrors` code,
/// else "ok".
fn outcome(answer: &tests::Answer, field: &str) -> String {
    if answer.has_errors() {
        return error_code(answer).to_owned();
    }
    tests::user_error_codes(&data(answer)[field])
        .first()
        .map_or("ok", |code| code)
        .to_owned()
}

/// An API key is a principal of its own, bound by its own role. Keys of every role, made by the
/// owner: none ends the owner's sessions or revokes the owner's other keys (CANNOT_REMOVE_SELF
/// when its role could do that to someone else, FORBIDDEN when it couldn't); each reads the
/// owner's sessions and details only if its role reads anyone's, and lists only the keys its
/// role shows (a GUEST key: itself); each may revoke itself.
async fn a_key_of_any_role_acts_as_itself_never_as_its_creator(app: TestApp) {
    let ws = app.demo.workspace_id;
    let [olivia] = people(&app, [OLIVIA]).await;
    let owner = app.owner_token().to_owned();
    let sibling = create_api_key_in(&app, &owner, ws, "Sibling", "GUEST").await;
    let sibling = sibling["apiKey"]["id"].clone().into_value();
    let about_olivia = json!({ "ws": ws, "u": olivia });
    for (role, acts_on_others, reads_others) in [
        ("OWNER", "CANNOT_REMOVE_SELF", "ok"),
        ("ADMIN", "CANNOT_REMOVE_SELF", "ok"),
        ("MEMBER", "FORBIDDEN", "FORBIDDEN"),
        ("GUEST", "FORBIDDEN", "FORBIDDEN"),
    ] {
        let created = create_api_key_in(&app, &owner, ws, &format!("{role} key"), role).await;
        let key = created["token"].as_str().unwrap().to_owned();
        let key_id = created["apiKey"]["id"].clone().into_value();
        let ended = app
            .call(
                &key,
                "mutation($input: EndSessionsInput!) { endSessions(input: $input) { sessionsEnded userErrors { code } } }",
                json!({ "userId": olivia }),
            )
            .await;
        assert_eq!(
            outcome(&ended, "endSessions"),
            acts_on_others,
            "{role}: {ended}"
        );
        let revoke = |id: &Value| {
            app.graphql(
                Some(&key),
                "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { userErrors { code } } }",
                json!({ "input": { "apiKeyId": id } }),
            )
        };
        let revoked = revoke(&sibling).await;
        assert_eq!(
            outcome(&revoked, "revokeApiKey"),
            acts_on_others,
            "{role}: {revoked}"
        );
        for (field, document) in [
            (
                "sessions",
                "query($ws: UUID!, $u: UUID!) { sessions(workspaceId: $ws, userId: $u) { nodes { id } } }",
            ),
            (
                "member",
                "query($ws: UUID!, $u: UUID!) { member(workspaceId: $ws, userId: $u) { member { role } } }",
            ),
        ] {
            let read = app
                .graphql(Some(&key), document, about_olivia.clone())
                .await;
            let got = if read.has_errors() {
                error_code(&read)
            } else {
                "ok"
            };
            assert_eq!(
                got, reads_others,
                "{role} reading the creator's {field}: {read}"
            );
        }
        let listed = app
            .graphql(
                Some(&key),
                "query($ws: UUID!) { apiKeys(workspaceId: $ws) { nodes { apiKey { id } } } }",
                json!({ "ws": ws }),
            )
            .await;
        let ids: Vec<Value> = data(&listed)["apiKeys"]["nodes"]
            .items()
            .iter()
            .map(|node| node["apiKey"]["id"].clone().into_value())
            .collect();
        assert!(ids.contains(&key_id), "{role} lists itself: {listed}");
        if reads_others == "FORBIDDEN" {
            assert_eq!(
                ids,
                std::slice::from_ref(&key_id),
                "{role} lists only itself: {listed}"
            );
        }
        let itself = revoke(&key_id).await;
        assert_eq!(
            outcome(&itself, "revokeApiKey"),
            "ok",
            "{role} revokes itself: {itself}"
        );
    }
    let viewer = app.as_owner(crate::support::VIEWER, Value::Null).await;
    assert_eq!(
        data(&viewer)["viewer"]["role"],
        "OWNER",
        "the owner's session lives"
    );
    let sibling_now = app
        .graphql(
            Some(&owner),
            "query($ws: UUID!) { apiKeys(workspaceId: $ws, filter: { revoked: false }) { nodes { apiKey { id } } } }",
            json!({ "ws": ws }),
        )
        .await;
    assert!(
        data(&sibling_now)["apiKeys"]["nodes"]
            .items()
            .iter()
            .any(|node| node["apiKey"]["id"].clone().into_value() == sibling),
        "the owner's other key was never revoked: {sibling_now}"
    );
}

/// Ada, an ADMIN, makes an ADMIN key, then is removed without `revokeApiKeys`: her key keeps
/// working (automation doesn't break) but hands out no access: no key, no invitation or new
/// link to one, no role change, no one reactivated or restored (FORBIDDEN, nothing written).
/// And no key makes a key above its own role.
async fn a_removed_creators_key_hands_out_no_access(app: TestApp) {
    let ws = app.demo.workspace_id;
    let [ada, max, dana] = people(&app, [ADA, MAX, crate::support::DANA]).await;
    let ivys_invitation = stored_invitation(&app, crate::support::IVY).await.id;
    crate::support::give_all_contacts_to_the_owner(&app).await;
    let ada_session = app.sign_in(ADA).await;
    let key = create_api_key_in(&app, &ada_session, ws, "Ada's automation", "ADMIN").await;
    let key = key["token"].as_str().unwrap().to_owned();
    let above = app
        .call(
            &key,
            "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { userErrors { code } } }",
            json!({ "name": "Higher", "role": "OWNER" }),
        )
        .await;
    assert_eq!(
        outcome(&above, "createApiKey"),
        "ROLE_NOT_MANAGEABLE",
        "{above}"
    );
    let removed = app
        .owner_mutates(REMOVE, json!({ "userIds": [ada], "reason": "left" }))
        .await;
    assert_eq!(
        tests::user_error_codes(&removed),
        Vec::<&str>::new(),
        "{removed}"
    );
    let still = app
        .graphql(Some(&key), crate::support::VIEWER, Value::Null)
        .await;
    assert_eq!(
        data(&still)["viewer"]["role"],
        "ADMIN",
        "the key still works"
    );
    let before = snapshot(&app).await;
    let refused = [
        (
            "createApiKey",
            app.call(
                &key,
                "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { userErrors { code } } }",
                json!({ "name": "Fresh", "role": "GUEST" }),
            )
            .await,
        ),
        (
            "inviteMember",
            app.call(&key, INVITE, json!({ "email": "new@acme.test", "role": "GUEST", "sendEmail": false }))
                .await,
        ),
        (
            "updateMemberRole",
            app.call(
                &key,
                "mutation($input: UpdateMemberRoleInput!) { updateMemberRole(input: $input) { userErrors { code } } }",
                json!({ "userId": max, "role": "GUEST" }),
            )
            .await,
        ),
        (
            "resendInvitation",
            app.graphql(
                Some(&key),
                "mutation($input: ResendInvitationInput!) { resendInvitation(input: $input) { invitationToken userErrors { code } } }",
                json!({ "input": { "invitationId": ivys_invitation, "sendEmail": false } }),
            )
            .await,
        ),
        (
            "reactivateUser",
            app.call(&key, REACTIVATE, json!({ "userId": dana })).await,
        ),
        (
            "restoreMember",
            app.call(&key, RESTORE, json!({ "userId": ada })).await,
        ),
    ];
    for (field, answer) in refused {
        assert_eq!(outcome(&answer, field), "FORBIDDEN", "{field}: {answer}");
    }
    assert_eq!(
        snapshot(&app).await,
        before,
        "the refused calls changed nothing"
    );
}

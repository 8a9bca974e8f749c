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

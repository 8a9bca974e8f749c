//! Provisioning through the SCIM door as Okta and Entra ID do it, replayed in the shapes they
//! send: a person created, changed, deactivated (cut off at the answer), reactivated and
//! deleted, with every consequence of the rules the GraphQL API applies: sessions refused,
//! emails sent, keys refused by the organization's setting, campaigns reattributed, seats
//! freed, audit entries naming the token, and a removal a rule blocks left waiting for an admin.

use entities::{MembershipStatus, api_key, campaign, offboarding, scim_account};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{TestApp, accept_link_in, backend_tests, data, error_code, ok};

use crate::scim::{SCIM_JSON, is_scim_error, scim_get, scim_token};
use crate::support::{
    MAX, MIA, OLIVIA, REMOVE, VIEWER, audit_entries, marketing_membership, people, seats_used,
    snapshot,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM request with a JSON body (or none): the status and the body, if any.
pub(crate) async fn scim(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app
        .client
        .request(method, format!("{}/scim/v2{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request
            .header("content-type", SCIM_JSON)
            .body(body.to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: {text}"))
    };
    (status, body)
}

pub(crate) fn patch(operations: Value) -> Option<Value> {
    Some(json!({ "schemas": [PATCH], "Operations": operations }))
}

/// Whether this session still opens the API.
async fn signed_in(app: &TestApp, session: &str) -> bool {
    let answer = app.graphql(Some(session), VIEWER, json!({})).await;
    match answer.get("errors") {
        None => true,
        Some(_) => {
            assert_eq!(error_code(&answer), "UNAUTHENTICATED", "{answer}");
            false
        }
    }
}

/// The audit entries of one action naming this SCIM token (by its name) as the actor.
pub(crate) async fn entries_by_token(app: &TestApp, action: &str, token_name: &str) -> Vec<Value> {
    let answer = app
        .as_owner(
            "query($ws: UUID!, $filter: AuditLogFilter) { auditLog(workspaceId: $ws, filter: $filter, first: 100) {
               nodes { action actor { email } actorScimToken { name } target { email } reason metadata } } }",
            json!({ "ws": app.demo.workspace_id, "filter": { "action": action } }),
        )
        .await;
    data(&answer)["auditLog"]["nodes"]
        .items()
        .iter()
        .filter(|entry| entry["actorScimToken"]["name"] == token_name)
        .map(|entry| entry.clone().into_value())
        .collect()
}

backend_tests! {
    okta_creates_changes_deactivates_reactivates_and_deletes_a_person,
    entra_deprovisions_with_every_consequence_of_the_rules,
    a_removal_blocked_by_contact_duties_waits_for_an_admin,
    the_last_owner_is_never_cut_off_and_nothing_changes,
    bad_requests_are_refused_in_scim_words_and_change_nothing,
}

/// Okta's sequence: look the person up by userName, create them (with the attributes Okta
/// sends, `password` and `groups` among them), replace them with PUT, deactivate with its
/// pathless PATCH, reactivate, delete.
async fn okta_creates_changes_deactivates_reactivates_and_deletes_a_person(app: TestApp) {
    let token = scim_token(&app).await;
    let seats = seats_used(&app).await;
    let (status, found) = scim_get(
        &app,
        Some(&token),
        "/Users?filter=userName%20eq%20%22new.hire%40acme.test%22&startIndex=1&count=100",
    )
    .await;
    assert_eq!(
        (status, found["totalResults"].clone()),
        (StatusCode::OK, json!(0))
    );

    let (status, created) = scim(
        &app,
        &token,
        Method::POST,
        "/Users",
        Some(json!({
            "schemas": [USER],
            "userName": "new.hire@acme.test",
            "name": { "givenName": "Nina", "familyName": "Hire" },
            "emails": [{ "primary": true, "value": "new.hire@acme.test", "type": "work" }],
            "displayName": "Nina Hire",
            "locale": "en-US",
            "externalId": "00u1okta",
            "groups": [],
            "password": "ignored-by-design",
            "active": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["userName"], "new.hire@acme.test");
    assert_eq!(created["externalId"], "00u1okta");
    assert_eq!(created["name"]["givenName"], "Nina");
    assert_eq!(created["name"]["familyName"], "Hire");
    assert_eq!(created["active"], true);
    let id = created["id"].as_str().unwrap().to_owned();
    let user_id: entities::UserId = id.parse::<uuid::Uuid>().unwrap().into();
    assert_eq!(seats_used(&app).await, seats + 1, "a seat is taken");
    let membership = marketing_membership(&app, user_id).await;
    assert_eq!(
        (membership.status, membership.role),
        (MembershipStatus::Active, entities::Role::Member)
    );

    // Someone new gets a welcome: its link sets their password and signs them in.
    let welcome = offboarding::Entity::find()
        .filter(offboarding::Column::ActorScimTokenId.is_not_null())
        .one(app.db())
        .await
        .unwrap()
        .expect("the welcome's email, recorded as the token's");
    let (kind, raw) = app.delivered_email(&welcome.id.to_string()).await;
    assert_eq!(kind, "SEND_INVITATION_EMAIL");
    assert!(raw.contains("new.hire@acme.test"), "{raw}");
    let link = accept_link_in(&raw);
    let accepted = app
        .mutate_signed_out(
            "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { token workspaceId userErrors { code } } }",
            json!({ "token": link.split("#token=").nth(1).unwrap(), "password": "a long password" }),
        )
        .await;
    ok(&accepted);
    assert_eq!(accepted["workspaceId"], json!(app.demo.workspace_id));
    let session = accepted["token"].as_str().unwrap().to_owned();
    assert!(signed_in(&app, &session).await);

    // PUT: the whole resource again, renamed.
    let (status, replaced) = scim(
        &app,
        &token,
        Method::PUT,
        &format!("/Users/{id}"),
        Some(json!({
            "schemas": [USER], "id": id, "userName": "new.hire@acme.test",
            "name": { "givenName": "Nina", "familyName": "Hire-Smith" },
            "emails": [{ "primary": true, "value": "new.hire@acme.test", "type": "work" }],
            "externalId": "00u1okta", "active": true,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["name"]["formatted"], "Nina Hire-Smith");
    let renamed = entries_by_token(&app, "PERSON_UPDATE", "Okta").await;
    assert_eq!(renamed.len(), 1, "{renamed:?}");
    assert_eq!(
        renamed[0]["metadata"]["changed"]["name"]["to"],
        "Nina Hire-Smith"
    );

    // Okta deactivates with a pathless replace: cut off at the answer, twice is once.
    for _ in 0..2 {
        let (status, deactivated) = scim(
            &app,
            &token,
            Method::PATCH,
            &format!("/Users/{id}"),
            patch(json!([{ "op": "replace", "value": { "active": false } }])),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{deactivated}");
        assert_eq!(deactivated["active"], false);
        assert!(
            !signed_in(&app, &session).await,
            "sessions are refused at once"
        );
    }
    let deactivations = entries_by_token(&app, "TEAM_MEMBERSHIP_DEACTIVATE", "Okta").await;
    assert_eq!(
        deactivations.len(),
        1,
        "a replay records nothing: {deactivations:?}"
    );
    assert_eq!(
        seats_used(&app).await,
        seats + 1,
        "a deactivated person keeps their seat"
    );

    let (status, reactivated) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        patch(json!([{ "op": "replace", "value": { "active": true } }])),
    )
    .await;
    assert_eq!(
        (status, reactivated["active"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert!(!signed_in(&app, &session).await, "old sessions stay dead");
    assert_eq!(
        entries_by_token(&app, "TEAM_MEMBERSHIP_REACTIVATE", "Okta")
            .await
            .len(),
        1
    );

    let (status, body) = scim(&app, &token, Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, gone) = scim_get(&app, Some(&token), &format!("/Users/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    is_scim_error(&gone, "404");
    assert_eq!(seats_used(&app).await, seats, "the seat is free again");
    let removals = entries_by_token(&app, "TEAM_MEMBERSHIP_REMOVE", "Okta").await;
    assert_eq!(removals.len(), 1);
    assert!(
        removals[0]["reason"]
            .as_str()
            .unwrap()
            .contains("identity provider (Okta)"),
        "{removals:?}"
    );
    let (status, _) = scim(&app, &token, Method::DELETE, &format!("/Users/{id}"), None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a second DELETE finds no one"
    );
    let accounts = scim_account::Entity::find()
        .filter(scim_account::Column::UserId.eq(user_id))
        .all(app.db())
        .await
        .unwrap();
    assert!(
        accounts.is_empty(),
        "the provider's names of them are forgotten"
    );
}

/// Entra ID's sequence for Max (Marketing and Research, the author of a campaign): found by
/// userName, deactivated with its capitalised op and string boolean in both workspaces at once,
/// then deleted: campaigns reattributed and the seat freed.
async fn entra_deprovisions_with_every_consequence_of_the_rules(app: TestApp) {
    let token = scim_token(&app).await;
    let seats = seats_used(&app).await;
    let [max] = people(&app, [MAX]).await;
    let marketing_session = app.sign_in(MAX).await;
    let research = crate::access::research_workspace(&app).await;
    let research_session = app.sign_in_to(research, MAX).await;
    let (_, found) = scim_get(
        &app,
        Some(&token),
        &format!("/Users?filter=userName+eq+%22{MAX}%22"),
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], json!(max));

    let (status, deactivated) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Users/{max}"),
        patch(json!([{ "op": "Replace", "path": "active", "value": "False" }])),
    )
    .await;
    assert_eq!(
        (status, deactivated["active"].clone()),
        (StatusCode::OK, json!(false))
    );
    assert!(!signed_in(&app, &marketing_session).await);
    assert!(
        !signed_in(&app, &research_session).await,
        "every workspace of the organization"
    );

    let (status, _) = scim(&app, &token, Method::DELETE, &format!("/Users/{max}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        seats_used(&app).await,
        seats - 1,
        "no membership left in the organization"
    );
    let removal = offboarding::Entity::find()
        .filter(offboarding::Column::ActorScimTokenId.is_not_null())
        .filter(offboarding::Column::Kind.eq(entities::OffboardingKind::RemoveMembers))
        .filter(offboarding::Column::WorkspaceId.eq(app.demo.workspace_id))
        .one(app.db())
        .await
        .unwrap()
        .expect("Marketing's removal");
    let done = app
        .wait_until_succeeded(&removal.id.to_string(), std::time::Duration::from_secs(30))
        .await;
    let kinds = tests::job_kinds(&done);
    for kind in [
        "SEND_REMOVAL_EMAIL",
        "REATTRIBUTE_CAMPAIGNS",
        "END_SESSIONS",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let email = tests::job_of(&done, "SEND_REMOVAL_EMAIL")["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        app.sent_email(email).unwrap().contains(MAX),
        "Max is told he was removed"
    );
    let campaigns = campaign::Entity::find()
        .filter(campaign::Column::OwnerId.eq(max))
        .all(app.db())
        .await
        .unwrap();
    assert!(
        campaigns.is_empty(),
        "Black Friday went to the workspace: {campaigns:?}"
    );
    let removals = audit_entries(&app, "team_membership_remove").await;
    assert_eq!(
        removals
            .iter()
            .filter(|entry| entry.target_user_id == Some(max) && entry.actor_scim_token_id.is_some())
            .count(),
        2,
        "removed from Marketing and from Research"
    );
}

/// Mia is the Ad server's technical contact: the provider's DELETE deactivates her (her key
/// refused, by the organization's setting) and leaves the removal waiting, with why; a replay
/// changes nothing; the admin's one click (removeMembers with the duty handed over) finishes it.
async fn a_removal_blocked_by_contact_duties_waits_for_an_admin(app: TestApp) {
    let token = scim_token(&app).await;
    let [mia, max] = people(&app, [MIA, MAX]).await;
    let session = app.sign_in(MIA).await;
    for _ in 0..2 {
        let (status, _) = scim(&app, &token, Method::DELETE, &format!("/Users/{mia}"), None).await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "the RFC's success: access is cut"
        );
    }
    assert!(!signed_in(&app, &session).await);
    let membership = marketing_membership(&app, mia).await;
    assert_eq!(membership.status, MembershipStatus::Deactivated);
    assert!(membership.deleted_at.is_none(), "kept: the removal waits");
    assert!(
        membership
            .idp_removal_blocked_by
            .as_deref()
            .unwrap()
            .contains("Ad server"),
        "{membership:?}"
    );
    let key = api_key::Entity::find()
        .filter(api_key::Column::CreatedBy.eq(mia))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert!(
        key.revoked_at.is_some(),
        "refused by the organization's setting"
    );
    let waits = entries_by_token(&app, "IDP_REMOVAL_WAIT", "Okta").await;
    assert_eq!(waits.len(), 1, "a replay records nothing: {waits:?}");
    assert!(
        waits[0]["metadata"]["blocked_by"]
            .as_str()
            .unwrap()
            .contains("Ad server")
    );

    // The People page's list shows it.
    let listed = app
        .as_owner(
            "query($ws: UUID!) { members(workspaceId: $ws, first: 100, filter: { statuses: [DEACTIVATED] }) {
               nodes { user { email } idpRemovalWaiting { requestedAt blockedBy } } } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    let waiting: Vec<&tests::Answer> = data(&listed)["members"]["nodes"]
        .items()
        .iter()
        .filter(|member| !member["idpRemovalWaiting"].is_null())
        .collect();
    assert_eq!(waiting.len(), 1, "{listed}");
    assert_eq!(waiting[0]["user"]["email"], MIA);

    let finished = app
        .owner_mutates(
            REMOVE,
            json!({
                "userIds": [mia],
                "contactReassignments": [{ "fromUserId": mia, "assignments": [{ "duty": "APPLICATION_TECHNICAL_CONTACT", "toUserId": max }] }],
            }),
        )
        .await;
    ok(&finished);
    let (status, _) = scim_get(&app, Some(&token), &format!("/Users/{mia}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Olivia is Research's only owner: the provider can't deactivate her anywhere (409 with the
/// rule's words), and Marketing, where another owner remains, is untouched too.
async fn the_last_owner_is_never_cut_off_and_nothing_changes(app: TestApp) {
    let token = scim_token(&app).await;
    let [olivia] = people(&app, [OLIVIA]).await;
    let before = snapshot(&app).await;
    for (method, body) in [
        (
            Method::PATCH,
            patch(json!([{ "op": "replace", "path": "active", "value": false }])),
        ),
        (Method::DELETE, None),
    ] {
        let (status, refused) = scim(&app, &token, method, &format!("/Users/{olivia}"), body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{refused}");
        is_scim_error(&refused, "409");
        assert!(
            refused["detail"].as_str().unwrap().contains("owner"),
            "{refused}"
        );
    }
    assert_eq!(snapshot(&app).await, before);
    assert!(signed_in(&app, app.owner_token()).await);
}

/// A request refused: what it is, how it is sent, and the status and `scimType` expected.
type Refused = (
    &'static str,
    Method,
    String,
    Value,
    StatusCode,
    Option<&'static str>,
);

/// Garbage in every shape is a 4xx in SCIM's words, and nothing changes.
async fn bad_requests_are_refused_in_scim_words_and_change_nothing(app: TestApp) {
    let token = scim_token(&app).await;
    let [mia] = people(&app, [MIA]).await;
    let before = snapshot(&app).await;
    let user = |extra: Value| {
        let mut body = json!({ "schemas": [USER], "userName": "someone@acme.test",
                               "emails": [{ "value": "someone@acme.test", "type": "work" }] });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases: Vec<Refused> = vec![
        (
            "an unknown attribute",
            Method::POST,
            "/Users".into(),
            user(json!({ "shoeSize": 42 })),
            StatusCode::BAD_REQUEST,
            Some("invalidPath"),
        ),
        (
            "active of the wrong type",
            Method::POST,
            "/Users".into(),
            user(json!({ "active": "maybe" })),
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
        ),
        (
            "no userName",
            Method::POST,
            "/Users".into(),
            json!({ "schemas": [USER], "emails": [{ "value": "x@acme.test" }] }),
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
        ),
        (
            "no address",
            Method::POST,
            "/Users".into(),
            json!({ "schemas": [USER], "userName": "no-address" }),
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
        ),
        (
            "no schemas",
            Method::POST,
            "/Users".into(),
            json!({ "userName": "x@acme.test" }),
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
        ),
        (
            "a person already here",
            Method::POST,
            "/Users".into(),
            user(json!({ "userName": MAX, "emails": [{ "value": MAX, "type": "work" }] })),
            StatusCode::CONFLICT,
            Some("uniqueness"),
        ),
        (
            "a control character",
            Method::POST,
            "/Users".into(),
            user(json!({ "displayName": "a\u{7}b" })),
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
        ),
        (
            "a PATCH of an unknown path",
            Method::PATCH,
            format!("/Users/{mia}"),
            patch(json!([{ "op": "replace", "path": "shoeSize", "value": 1 }])).unwrap(),
            StatusCode::BAD_REQUEST,
            Some("invalidPath"),
        ),
        (
            "a PATCH's unknown op",
            Method::PATCH,
            format!("/Users/{mia}"),
            patch(json!([{ "op": "merge", "path": "active", "value": true }])).unwrap(),
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
        ),
        (
            "a PATCH removing the userName",
            Method::PATCH,
            format!("/Users/{mia}"),
            patch(json!([{ "op": "remove", "path": "userName" }])).unwrap(),
            StatusCode::BAD_REQUEST,
            Some("mutability"),
        ),
        (
            "a PATCH of someone unknown",
            Method::PATCH,
            format!("/Users/{}", uuid::Uuid::now_v7()),
            patch(json!([{ "op": "replace", "path": "active", "value": false }])).unwrap(),
            StatusCode::NOT_FOUND,
            None,
        ),
    ];
    for (what, method, path, body, status, scim_type) in cases {
        let (answered, refused) = scim(&app, &token, method, &path, Some(body)).await;
        assert_eq!(answered, status, "{what}: {refused}");
        is_scim_error(&refused, &status.as_u16().to_string());
        assert_eq!(refused["scimType"].as_str(), scim_type, "{what}: {refused}");
    }

    // Not JSON, not an object, another media type, and a body past the limit.
    let send = |content_type: &'static str, body: Vec<u8>| {
        app.client
            .post(format!("{}/scim/v2/Users", app.address))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    for (what, content_type, body, status) in [
        (
            "broken JSON",
            SCIM_JSON,
            b"{\"userName\":".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        ("a list", SCIM_JSON, b"[]".to_vec(), StatusCode::BAD_REQUEST),
        (
            "plain text",
            "text/plain",
            b"hello".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        // Five times the default limit: read and dropped, so the client reads its 413 (a client
        // sending far more without `Expect: 100-continue` is cut off, see limits.rs).
        (
            "five megabytes",
            SCIM_JSON,
            vec![b' '; 5 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let response = send(content_type, body).await.unwrap();
        assert_eq!(response.status(), status, "{what}");
        assert_eq!(response.headers()["content-type"], SCIM_JSON, "{what}");
        is_scim_error(
            &response.json().await.unwrap(),
            &status.as_u16().to_string(),
        );
    }
    assert_eq!(snapshot(&app).await, before);
}

//! What an identity provider may do to an account, and what stays its person's: an address
//! changes only before its person has chosen a password (a link sent to the old one then opens
//! nothing, and the new one gets its own), a name shared with another organization is left as
//! it is without blocking the rest of the request, and someone provisioned inactive is welcomed
//! once let in.

use entities::{MembershipStatus, Role, membership, offboarding};
use reqwest::{Method, StatusCode};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use tests::{TestApp, accept_link_in, backend_tests};

use crate::scim::scim_token;
use crate::scim_provisioning::{patch, scim};
use crate::support::{ADA, MIA, people, snapshot};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

backend_tests! {
    an_address_changes_only_before_its_person_has_chosen_a_password,
    a_shared_accounts_name_is_left_and_the_rest_is_done,
    someone_provisioned_inactive_is_welcomed_once_let_in,
}

/// The welcome emails sent so far, raw, oldest first.
async fn welcomes(app: &TestApp) -> Vec<String> {
    let mut sent = Vec::new();
    for welcome in offboarding::Entity::find()
        .filter(offboarding::Column::ActorScimTokenId.is_not_null())
        .filter(offboarding::Column::Kind.eq(entities::OffboardingKind::InvitationEmail))
        .order_by_asc(offboarding::Column::Id)
        .all(app.db())
        .await
        .unwrap()
    {
        sent.push(app.delivered_email(&welcome.id.to_string()).await.1);
    }
    sent
}

async fn accept(app: &TestApp, raw: &str) -> Value {
    let link = accept_link_in(raw);
    app.mutate_signed_out(
        "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { token userErrors { code } } }",
        json!({ "token": link.split("#token=").nth(1).unwrap(), "password": "a long password" }),
    )
    .await
    .into_value()
}

async fn provision(app: &TestApp, token: &str, email: &str, active: bool) -> String {
    let (status, created) = scim(
        app,
        token,
        Method::POST,
        "/Users",
        Some(
            json!({ "schemas": [USER], "userName": email, "active": active,
                     "emails": [{ "value": email, "type": "work" }] }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn an_address_changes_only_before_its_person_has_chosen_a_password(app: TestApp) {
    let token = scim_token(&app).await;
    let id = provision(&app, &token, "typo@acme.test", true).await;
    // The first link reached the mistyped mailbox before anyone noticed.
    assert_eq!(welcomes(&app).await.len(), 1);
    let readdress = |to: &str| {
        patch(json!([{ "op": "replace", "path": "emails[type eq \"work\"].value", "value": to }]))
    };
    let (status, moved) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        readdress("right@acme.test"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["emails"][0]["value"], "right@acme.test");

    let sent = welcomes(&app).await;
    assert_eq!(sent.len(), 2, "a welcome to each address");
    assert!(sent[0].contains("typo@acme.test") && sent[1].contains("right@acme.test"));
    let stale = accept(&app, &sent[0]).await;
    assert_eq!(
        stale["userErrors"][0]["code"], "INVITATION_INVALID",
        "{stale}"
    );
    let fresh = accept(&app, &sent[1]).await;
    assert!(fresh["token"].is_string(), "{fresh}");

    // Signed in with it: the address is theirs now, and so is every other person's with a
    // password (Mia's, of the demo).
    let [mia] = people(&app, [MIA]).await;
    let before = snapshot(&app).await;
    for (who, target) in [("the new person", id.clone()), ("Mia", mia.to_string())] {
        let (status, refused) = scim(
            &app,
            &token,
            Method::PATCH,
            &format!("/Users/{target}"),
            readdress("elsewhere@evil.test"),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{who}: {refused}");
        assert_eq!(refused["scimType"], "mutability", "{who}");
    }
    assert_eq!(snapshot(&app).await, before);
}

/// Ada works for Globex too: Acme's provider can't rename her account, but the same PUT still
/// deactivates her in Acme, and keeps the name parts it sent.
async fn a_shared_accounts_name_is_left_and_the_rest_is_done(app: TestApp) {
    let token = scim_token(&app).await;
    let [ada] = people(&app, [ADA]).await;
    let hq = crate::workspaces::globex(&app).await;
    membership::ActiveModel::new(
        hq.id,
        ada,
        Role::Member,
        MembershipStatus::Active,
        chrono::Utc::now(),
    )
    .insert(app.db())
    .await
    .unwrap();
    let (status, put) = scim(
        &app,
        &token,
        Method::PUT,
        &format!("/Users/{ada}"),
        Some(json!({ "schemas": [USER], "userName": ADA, "active": false,
                     "name": { "givenName": "Adeline", "familyName": "Acme" },
                     "emails": [{ "value": ADA, "type": "work" }] })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert_eq!(put["active"], false);
    assert_eq!(
        put["name"]["formatted"], "Ada Admin",
        "the account's name is hers"
    );
    assert_eq!(put["name"]["givenName"], "Adeline", "the parts are Acme's");
    let in_globex = membership::Entity::find_live(hq.id, [ada])
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        in_globex.status,
        MembershipStatus::Active,
        "Globex is not Acme's to cut"
    );
}

async fn someone_provisioned_inactive_is_welcomed_once_let_in(app: TestApp) {
    let token = scim_token(&app).await;
    let id = provision(&app, &token, "later@acme.test", false).await;
    assert!(welcomes(&app).await.is_empty(), "no welcome while inactive");
    let (status, _) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Users/{id}"),
        patch(json!([{ "op": "replace", "path": "active", "value": true }])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let sent = welcomes(&app).await;
    assert_eq!(sent.len(), 1);
    assert!(accept(&app, &sent[0]).await["token"].is_string());
}

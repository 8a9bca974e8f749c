//! Group push through the SCIM door, as Okta and Entra ID do it: a group found by its name,
//! created with members, renamed with Okta's pathless replace, given and relieved of members in
//! both providers' shapes (a replay changes nothing), refused members who aren't in the
//! workspace, deleted; each change audited as the token's, and seen through GraphQL too.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests, data};

use crate::scim::{is_scim_error, scim_get, scim_token};
use crate::scim_provisioning::{entries_by_token, patch, scim};
use crate::support::{ADA, MAX, people, snapshot};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

backend_tests! {
    groups_are_pushed_as_okta_and_entra_push_them,
    a_group_takes_only_the_workspaces_people,
}

fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["value"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

async fn groups_are_pushed_as_okta_and_entra_push_them(app: TestApp) {
    let token = scim_token(&app).await;
    let [ada, max] = people(&app, [ADA, MAX]).await;
    let (status, found) = scim_get(
        &app,
        Some(&token),
        "/Groups?filter=displayName%20eq%20%22Designers%22&excludedAttributes=members",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["totalResults"], 1, "{found}");
    assert!(found["Resources"][0].get("members").is_none(), "{found}");

    let (status, created) = scim(
        &app,
        &token,
        Method::POST,
        "/Groups",
        Some(
            json!({ "schemas": [GROUP], "displayName": "Pushed", "externalId": "00g1",
                     "members": [{ "value": ada }] }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["externalId"], "00g1");
    assert_eq!(member_ids(&created), [ada.to_string()]);
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, taken) = scim(
        &app,
        &token,
        Method::POST,
        "/Groups",
        Some(json!({ "schemas": [GROUP], "displayName": "Pushed" })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(taken["scimType"], "uniqueness");

    // Okta renames with a pathless replace carrying the id, and adds members; twice is once.
    for _ in 0..2 {
        let (status, changed) = scim(
            &app,
            &token,
            Method::PATCH,
            &format!("/Groups/{id}"),
            patch(json!([
                { "op": "replace", "value": { "id": id, "displayName": "Pushed by Okta" } },
                { "op": "add", "path": "members", "value": [{ "value": max }] },
            ])),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!(changed["displayName"], "Pushed by Okta");
        let mut both = vec![ada.to_string(), max.to_string()];
        both.sort();
        assert_eq!(member_ids(&changed), both);
    }
    assert_eq!(
        entries_by_token(&app, "GROUP_RENAME", "Okta").await.len(),
        1
    );
    assert_eq!(
        entries_by_token(&app, "GROUP_MEMBERS_CHANGE", "Okta")
            .await
            .len(),
        2,
        "the creation's and the one real addition"
    );

    // Entra removes with a capitalised op and a value; Okta by a filtered path.
    let (status, changed) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Groups/{id}"),
        patch(json!([{ "op": "Remove", "path": "members", "value": [{ "value": ada }] }])),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(member_ids(&changed), [max.to_string()]);
    let (_, changed) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Groups/{id}"),
        patch(json!([{ "op": "remove", "path": format!("members[value eq \"{max}\"]") }])),
    )
    .await;
    assert!(member_ids(&changed).is_empty(), "{changed}");

    // Operations apply in their order: out, then in again, is in.
    let (_, changed) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Groups/{id}"),
        patch(json!([
            { "op": "remove", "path": "members", "value": [{ "value": ada }] },
            { "op": "add", "path": "members", "value": [{ "value": ada }] },
        ])),
    )
    .await;
    assert_eq!(member_ids(&changed), [ada.to_string()]);
    let (_, changed) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Groups/{id}"),
        patch(json!([{ "op": "remove", "path": "members" }])),
    )
    .await;
    assert!(member_ids(&changed).is_empty(), "{changed}");
    let (_, found) = scim_get(
        &app,
        Some(&token),
        "/Groups?filter=displayName%20eq%20%22PUSHED%20BY%20OKTA%22",
    )
    .await;
    assert_eq!(
        found["totalResults"], 1,
        "names are not case-exact: {found}"
    );

    // The GraphQL door sees the same group.
    let listed = app
        .as_owner(
            "query($ws: UUID!) { groups(workspaceId: $ws) { name memberCount } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    assert!(
        data(&listed)["groups"]
            .items()
            .iter()
            .any(|group| group["name"] == "Pushed by Okta" && group["memberCount"] == 0),
        "{listed}"
    );

    let (status, _) = scim(&app, &token, Method::DELETE, &format!("/Groups/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, gone) = scim_get(&app, Some(&token), &format!("/Groups/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    is_scim_error(&gone, "404");
    assert_eq!(
        entries_by_token(&app, "GROUP_DELETE", "Okta").await.len(),
        1
    );
}

/// Only people of the workspace can be in its groups: anyone else (an unknown id, someone of
/// another organization) is refused as an invalid value, and nothing changes.
async fn a_group_takes_only_the_workspaces_people(app: TestApp) {
    let token = scim_token(&app).await;
    let (_, designers) = scim_get(
        &app,
        Some(&token),
        "/Groups?filter=displayName%20eq%20%22Designers%22",
    )
    .await;
    let id = designers["Resources"][0]["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app).await;
    let stranger = uuid::Uuid::now_v7();
    for (what, method, path, body) in [
        (
            "a PATCH adding a stranger",
            Method::PATCH,
            format!("/Groups/{id}"),
            patch(json!([{ "op": "add", "path": "members", "value": [{ "value": stranger }] }])),
        ),
        (
            "a new group with a stranger",
            Method::POST,
            "/Groups".to_owned(),
            Some(
                json!({ "schemas": [GROUP], "displayName": "Strangers", "members": [{ "value": stranger }] }),
            ),
        ),
        (
            "a member that isn't an id",
            Method::PATCH,
            format!("/Groups/{id}"),
            patch(json!([{ "op": "add", "path": "members", "value": [{ "value": "mia" }] }])),
        ),
    ] {
        let (status, refused) = scim(&app, &token, method, &path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {refused}");
        assert_eq!(refused["scimType"], "invalidValue", "{what}");
    }
    let (status, _) = scim(
        &app,
        &token,
        Method::PATCH,
        &format!("/Groups/{}", uuid::Uuid::now_v7()),
        patch(json!([{ "op": "replace", "path": "displayName", "value": "x" }])),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(snapshot(&app).await, before);
}

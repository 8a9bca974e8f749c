//! The SCIM door, `/scim/v2`, as an identity provider calls it: its token or a 401 with an RFC
//! 7644 error body, discovery that says what is built, and the organization's people as Users
//! (filtered as Okta and Entra filter, paged 1-based, projected by `attributes`).

use reqwest::StatusCode;
use serde_json::{Value, json};
use tests::{TestApp, backend_tests, data};

use crate::support::{ADA, GUS, OLIVIA, people};

pub(crate) const SCIM_JSON: &str = "application/scim+json";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM token of the demo organization, provisioning into Marketing.
pub(crate) async fn scim_token(app: &TestApp) -> String {
    let made = app
        .graphql(
            Some(app.owner_token()),
            "mutation($input: CreateScimTokenInput!) { createScimToken(input: $input) { secret scimToken { id } } }",
            json!({ "input": { "organizationId": app.demo.organization_id,
                               "workspaceId": app.demo.workspace_id, "name": "Okta" } }),
        )
        .await;
    data(&made)["createScimToken"]["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `GET /scim/v2<path>` with this token (or none): the status and the body, which is always
/// SCIM's JSON.
pub(crate) async fn scim_get(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (StatusCode, Value) {
    let mut request = app.client.get(format!("{}/scim/v2{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, SCIM_JSON, "GET {path}");
    (status, response.json().await.unwrap())
}

/// The userNames of a list answer, in its order.
fn user_names(list: &Value) -> Vec<&str> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["userName"].as_str().unwrap())
        .collect()
}

pub(crate) fn is_scim_error(body: &Value, status: &str) {
    assert_eq!(body["schemas"], json!([ERROR]), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

backend_tests! {
    the_independent_checker_passes,
    only_a_live_scim_token_opens_the_door,
    discovery_says_what_is_built,
    users_are_the_organizations_people_filtered_and_paged,
    one_organizations_token_never_sees_anothers_people,
    a_page_holds_at_most_a_hundred,
    a_token_past_its_allowance_waits_and_others_go_on => |config: &mut tests::Settings| {
        config.limits.scim_requests_per_token_per_minute = 3;
    },
}

/// A token over its allowance gets 429 with `Retry-After` in SCIM's words; another token of
/// the same organization goes on.
async fn a_token_past_its_allowance_waits_and_others_go_on(app: TestApp) {
    let (okta, entra) = (scim_token(&app).await, scim_token(&app).await);
    for _ in 0..3 {
        let (status, _) = scim_get(&app, Some(&okta), "/Users?count=1").await;
        assert_eq!(status, StatusCode::OK);
    }
    let response = app
        .client
        .get(format!("{}/scim/v2/Users", app.address))
        .bearer_auth(&okta)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    is_scim_error(&response.json().await.unwrap(), "429");
    let (status, _) = scim_get(&app, Some(&entra), "/Users?count=1").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a token of its own, an allowance of its own"
    );
}

/// The checks of scim2-tester that don't apply here, by title and attribute, each with its
/// reason in docs/DECISIONS.md ("SCIM checks that don't apply"): a person always has a name,
/// and is always active or not.
const NOT_APPLICABLE: [(&str, &str); 3] = [
    ("check_remove_attribute", "did not remove attribute 'name'"),
    (
        "check_remove_attribute",
        "did not remove attribute 'displayName'",
    ),
    (
        "check_remove_attribute",
        "Failed to remove attribute 'active'",
    ),
];

/// scim2-tester, run as its users run it (`tests/scim/check.py`), with every check: each passes
/// or is skipped for the reason the server gives, except the three listed as not applicable.
async fn the_independent_checker_passes(app: TestApp) {
    let token = scim_token(&app).await;
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scim");
    let python = folder.join(".venv/bin/python");
    assert!(
        python.exists(),
        "the SCIM checker is not installed: python3 -m venv tests/scim/.venv && \
         tests/scim/.venv/bin/pip install -r tests/scim/requirements.txt (.ci/run does it)"
    );
    let base = format!("{}/scim/v2", app.address);
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(folder.join("check.py"))
            .args([base.as_str(), token.as_str()])
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<Value> = serde_json::from_str(printed.lines().last().unwrap()).unwrap();
    let counted = |status: &str| results.iter().filter(|r| r["status"] == status).count();
    assert!(counted("SUCCESS") >= 60, "{results:#?}");
    let skipped: Vec<&Value> = results
        .iter()
        .filter(|r| r["status"] == "SKIPPED")
        .collect();
    assert_eq!(skipped.len(), 2, "Users and Groups: {skipped:#?}");
    assert!(
        skipped
            .iter()
            .all(|skip| skip["title"] == "search_with_attributes"),
        "only the root /.search, which answers 501: {skipped:#?}"
    );
    let failed: Vec<&Value> = results
        .iter()
        .filter(|result| !matches!(result["status"].as_str(), Some("SUCCESS" | "SKIPPED")))
        .filter(|result| {
            !NOT_APPLICABLE.iter().any(|(title, reason)| {
                result["title"] == *title
                    && result["reason"]
                        .as_str()
                        .is_some_and(|r| r.contains(reason))
            })
        })
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

async fn only_a_live_scim_token_opens_the_door(app: TestApp) {
    let token = scim_token(&app).await;
    for (who, bearer) in [
        ("no token", None),
        ("a session", Some(app.owner_token())),
        ("garbage", Some("ofscim_not-a-token")),
    ] {
        let (status, body) = scim_get(&app, bearer, "/Users").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{who}");
        is_scim_error(&body, "401");
    }
    let (status, _) = scim_get(&app, Some(&token), "/Users").await;
    assert_eq!(status, StatusCode::OK);

    // Used: the list of tokens says when (written beside the request).
    let mut last_used = Value::Null;
    for _ in 0..50 {
        let listed = app
            .graphql(
                Some(app.owner_token()),
                "query($org: UUID!) { scimTokens(organizationId: $org) { nodes { lastUsedAt scimToken { id } } } }",
                json!({ "org": app.demo.organization_id }),
            )
            .await;
        last_used = data(&listed)["scimTokens"]["nodes"][0]["lastUsedAt"]
            .clone()
            .into_value();
        if last_used.is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(last_used.is_string(), "{last_used}");

    // Revoked: refused from that commit on.
    let listed = app
        .graphql(
            Some(app.owner_token()),
            "query($org: UUID!) { scimTokens(organizationId: $org) { nodes { scimToken { id } } } }",
            json!({ "org": app.demo.organization_id }),
        )
        .await;
    let id = data(&listed)["scimTokens"]["nodes"][0]["scimToken"]["id"].clone();
    let revoked = app
        .graphql(
            Some(app.owner_token()),
            "mutation($input: RevokeScimTokenInput!) { revokeScimToken(input: $input) { scimToken { revokedAt } } }",
            json!({ "input": { "scimTokenId": id } }),
        )
        .await;
    assert!(data(&revoked)["revokeScimToken"]["scimToken"]["revokedAt"].is_string());
    let (status, body) = scim_get(&app, Some(&token), "/Users").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    is_scim_error(&body, "401");
}

async fn discovery_says_what_is_built(app: TestApp) {
    let token = scim_token(&app).await;
    let (status, config) = scim_get(&app, Some(&token), "/ServiceProviderConfig").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"]["supported"], true);
    assert_eq!(config["bulk"]["supported"], false);
    assert_eq!(config["sort"]["supported"], false);
    assert_eq!(config["filter"]["supported"], true);
    assert_eq!(config["filter"]["maxResults"], 100);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        "oauthbearertoken"
    );

    let (_, types) = scim_get(&app, Some(&token), "/ResourceTypes").await;
    assert_eq!(types["totalResults"], 2);
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    assert_eq!(types["Resources"][1]["endpoint"], "/Groups");
    let (status, user) = scim_get(&app, Some(&token), "/ResourceTypes/User").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["schema"], "urn:ietf:params:scim:schemas:core:2.0:User");
    let (status, group) = scim_get(&app, Some(&token), "/ResourceTypes/Group").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        group["schema"],
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    );
    let (status, body) = scim_get(&app, Some(&token), "/ResourceTypes/Device").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    is_scim_error(&body, "404");

    let (_, schemas) = scim_get(&app, Some(&token), "/Schemas").await;
    let attributes: Vec<&str> = schemas["Resources"][0]["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attribute| attribute["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        attributes,
        [
            "userName",
            "externalId",
            "name",
            "displayName",
            "emails",
            "active"
        ]
    );
    let (status, _) = scim_get(
        &app,
        Some(&token),
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = scim_get(&app, Some(&token), "/Nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    is_scim_error(&body, "404");

    // Discovery is read-only, takes no filter, and a path that isn't text is a 404, all in
    // SCIM's words.
    let response = app
        .client
        .post(format!("{}/scim/v2/ServiceProviderConfig", app.address))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    is_scim_error(&response.json().await.unwrap(), "405");
    let (status, body) = scim_get(&app, Some(&token), "/ResourceTypes?filter=x").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    is_scim_error(&body, "403");
    let (status, body) = scim_get(&app, Some(&token), "/Users/%FF").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    is_scim_error(&body, "404");

    // A search of every resource type at once isn't carried out: 501, in SCIM's words.
    let response = app
        .client
        .post(format!("{}/scim/v2/.search", app.address))
        .bearer_auth(&token)
        .header("content-type", SCIM_JSON)
        .body(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_IMPLEMENTED);
    is_scim_error(&response.json().await.unwrap(), "501");
}

async fn users_are_the_organizations_people_filtered_and_paged(app: TestApp) {
    let token = scim_token(&app).await;
    let (status, all) = scim_get(&app, Some(&token), "/Users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        all["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    // Everyone of Acme's two workspaces with a membership not removed; no system users.
    let mut everyone = user_names(&all);
    everyone.sort_unstable();
    assert_eq!(
        everyone,
        [
            ADA,
            "dana.deactivated@acme.test",
            GUS,
            "ivy.invited@acme.test",
            "max.member@acme.test",
            "mia.member@acme.test",
            OLIVIA,
            "omar.owner@acme.test",
        ]
    );
    assert_eq!(all["totalResults"], 8);
    assert_eq!(all["startIndex"], 1);
    assert_eq!(all["itemsPerPage"], 8);
    let ada = all["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|user| user["userName"] == ADA)
        .unwrap()
        .clone();
    let [ada_id] = people(&app, [ADA]).await;
    assert_eq!(ada["id"], json!(ada_id));
    assert_eq!(ada["active"], true);
    assert_eq!(ada["name"]["formatted"], "Ada Admin");
    assert_eq!(ada["emails"], json!([{ "value": ADA, "type": "work" }]));
    assert_eq!(ada["meta"]["resourceType"], "User");
    assert!(
        ada["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/Users/{ada_id}"))
    );

    // The filters identity providers send.
    for (filter, expected) in [
        (format!("userName eq \"{ADA}\""), vec![ADA]),
        ("USERNAME Eq \"Ada.Admin@acme.test\"".to_owned(), vec![ADA]),
        (
            format!("emails[type eq \"work\"].value eq \"{ADA}\""),
            vec![ADA],
        ),
        ("externalId eq \"00u1abc\"".to_owned(), vec![]),
        ("userName eq \"nobody@acme.test\"".to_owned(), vec![]),
        (
            "active eq false".to_owned(),
            vec!["dana.deactivated@acme.test", "ivy.invited@acme.test"],
        ),
        (
            "active eq true".to_owned(),
            vec![
                ADA,
                GUS,
                "max.member@acme.test",
                "mia.member@acme.test",
                OLIVIA,
                "omar.owner@acme.test",
            ],
        ),
        (format!("id eq \"{ada_id}\""), vec![ADA]),
        (format!("emails.value eq \"{ADA}\""), vec![ADA]),
        // Entra's "test connection" asks for someone who can't exist.
        (format!("userName eq \"{}\"", uuid::Uuid::now_v7()), vec![]),
    ] {
        let path = format!("/Users?filter={}", urlencode(&filter));
        let (status, found) = scim_get(&app, Some(&token), &path).await;
        assert_eq!(status, StatusCode::OK, "{filter}: {found}");
        let mut names = user_names(&found);
        names.sort_unstable();
        assert_eq!(names, expected, "{filter}");
        assert_eq!(found["totalResults"], expected.len(), "{filter}");
    }
    for filter in [
        "name.givenName eq \"Ada\"",
        "userName co \"ada\"",
        "garbage",
    ] {
        let path = format!("/Users?filter={}", urlencode(filter));
        let (status, body) = scim_get(&app, Some(&token), &path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}");
        is_scim_error(&body, "400");
        assert_eq!(body["scimType"], "invalidFilter", "{filter}");
    }

    // Pages, 1-based; a count of 0 gives the total alone; a startIndex below 1 is 1.
    let (_, page) = scim_get(&app, Some(&token), "/Users?startIndex=3&count=2").await;
    assert_eq!(page["startIndex"], 3);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(page["totalResults"], 8);
    assert_eq!(user_names(&page), user_names(&all)[2..4]);
    let (_, counted) = scim_get(&app, Some(&token), "/Users?count=0").await;
    assert_eq!(
        (
            counted["totalResults"].clone(),
            counted["itemsPerPage"].clone()
        ),
        (json!(8), json!(0))
    );
    let (_, from_zero) = scim_get(&app, Some(&token), "/Users?startIndex=0&count=1").await;
    assert_eq!(user_names(&from_zero), user_names(&all)[..1]);
    let (status, body) = scim_get(&app, Some(&token), "/Users?count=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    is_scim_error(&body, "400");

    // attributes / excludedAttributes.
    let (_, only) = scim_get(&app, Some(&token), "/Users?attributes=userName&count=1").await;
    let keys: Vec<&String> = only["Resources"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["id", "schemas", "userName"]);
    let (_, without) = scim_get(
        &app,
        Some(&token),
        "/Users?excludedAttributes=emails,meta&count=1",
    )
    .await;
    assert!(without["Resources"][0].get("emails").is_none());
    assert!(without["Resources"][0].get("meta").is_none());
    assert!(without["Resources"][0]["userName"].is_string());
    let (_, nothing_of_it) = scim_get(
        &app,
        Some(&token),
        "/Users?attributes=name.middleName&count=1",
    )
    .await;
    assert!(
        nothing_of_it["Resources"][0].get("name").is_none(),
        "a complex attribute with nothing asked of it is left out: {nothing_of_it}"
    );
    let (_, past_the_end) = scim_get(&app, Some(&token), "/Users?startIndex=100").await;
    assert_eq!(past_the_end["totalResults"], 8);
    assert_eq!(past_the_end["itemsPerPage"], 0);

    // One person; anyone else is 404.
    let (status, one) = scim_get(&app, Some(&token), &format!("/Users/{ada_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, ada);
    for path in [
        format!("/Users/{}", uuid::Uuid::now_v7()),
        "/Users/not-an-id".to_owned(),
        format!("/Users/{}", marketing_system_user(&app).await),
    ] {
        let (status, body) = scim_get(&app, Some(&token), &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        is_scim_error(&body, "404");
    }
    // Removed from every workspace of the organization: no longer one of its people.
    let [gus] = people(&app, [GUS]).await;
    app.remove_members(&[gus]).await;
    let (status, _) = scim_get(&app, Some(&token), &format!("/Users/{gus}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, after) = scim_get(&app, Some(&token), "/Users?count=0").await;
    assert_eq!(after["totalResults"], 7);
}

async fn marketing_system_user(app: &TestApp) -> entities::UserId {
    use sea_orm::EntityTrait;
    entities::workspace::Entity::find_by_id(app.demo.workspace_id)
        .one(app.db())
        .await
        .unwrap()
        .unwrap()
        .system_user_id
}

/// A query parameter's value, percent-encoded.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Globex: an organization of its own, with Wally, and Ada, who works for both; each
/// organization knows her by its own external id. Its token, made as `createScimToken` would.
async fn globex_and_its_token(app: &TestApp) -> (String, entities::UserId) {
    use entities::{MembershipStatus, Role, UserKind, membership, scim_account, scim_token, user};
    use sea_orm::{ActiveModelTrait, Set};
    let hq = crate::workspaces::globex(app).await;
    let now = chrono::Utc::now();
    let wally = user::ActiveModel {
        id: Set(entities::UserId::fresh()),
        email: Set("wally@globex.test".into()),
        name: Set("Wally".into()),
        password_hash: Set(None),
        kind: Set(UserKind::Person),
        erased_at: Set(None),
        created_at: Set(now),
    }
    .insert(app.db())
    .await
    .unwrap();
    let [ada] = people(app, [ADA]).await;
    for person in [wally.id, ada] {
        membership::ActiveModel::new(hq.id, person, Role::Member, MembershipStatus::Active, now)
            .insert(app.db())
            .await
            .unwrap();
    }
    for (organization, external_id) in [
        (app.demo.organization_id, "acme-ada"),
        (hq.organization_id, "globex-ada"),
    ] {
        scim_account::ActiveModel {
            organization_id: Set(organization),
            user_id: Set(ada),
            user_name: Set(None),
            user_name_key: Set(None),
            external_id: Set(Some(external_id.into())),
            given_name: Set(None),
            family_name: Set(None),
            created_at: Set(now),
        }
        .insert(app.db())
        .await
        .unwrap();
    }
    let secret = platform::tokens::new_token(platform::tokens::TokenKind::Scim);
    scim_token::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organization_id: Set(hq.organization_id),
        workspace_id: Set(hq.id),
        name: Set("Globex's Okta".into()),
        prefix: Set(secret.token[..14].to_owned()),
        token_hash: Set(secret.hash),
        created_by: Set(ada),
        created_at: Set(now),
        revoked_at: Set(None),
    }
    .insert(app.db())
    .await
    .unwrap();
    (secret.token, wally.id)
}

/// Each organization's token sees its own people alone, and each organization's external id
/// of a person who works for both.
async fn one_organizations_token_never_sees_anothers_people(app: TestApp) {
    let acme = scim_token(&app).await;
    let (globex, wally) = globex_and_its_token(&app).await;
    let (_, acme_people) = scim_get(&app, Some(&acme), "/Users").await;
    assert!(!user_names(&acme_people).contains(&"wally@globex.test"));
    assert_eq!(acme_people["totalResults"], 8);
    let (_, globex_people) = scim_get(&app, Some(&globex), "/Users").await;
    let mut names = user_names(&globex_people);
    names.sort_unstable();
    assert_eq!(names, [ADA, "wally@globex.test"]);
    let (status, _) = scim_get(&app, Some(&acme), &format!("/Users/{wally}")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another organization's person"
    );
    for (token, external_id, expected) in [
        (&acme, "acme-ada", vec![ADA]),
        (&acme, "globex-ada", vec![]),
        (&globex, "globex-ada", vec![ADA]),
        (&globex, "acme-ada", vec![]),
    ] {
        let filter = urlencode(&format!("externalId eq \"{external_id}\""));
        let (_, found) = scim_get(&app, Some(token), &format!("/Users?filter={filter}")).await;
        assert_eq!(user_names(&found), expected, "{external_id}");
        if let Some(ada) = found["Resources"].as_array().unwrap().first() {
            assert_eq!(ada["externalId"], external_id);
        }
    }
}

/// However many are asked for, a page holds at most 100 (ServiceProviderConfig's maxResults).
async fn a_page_holds_at_most_a_hundred(app: TestApp) {
    let token = scim_token(&app).await;
    tests::add_members(&app, 100).await;
    let (_, page) = scim_get(&app, Some(&token), "/Users?count=500").await;
    assert_eq!(page["totalResults"], 108);
    assert_eq!(page["itemsPerPage"], 100);
    let (_, rest) = scim_get(&app, Some(&token), "/Users?startIndex=101&count=100").await;
    assert_eq!(rest["itemsPerPage"], 8);
}

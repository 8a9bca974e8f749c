//! The People page, served by the api at `/`, walked in Debian's Chromium as its users would
//! (`tests/browser/people.mjs`): sign in, search and filter, remove a member with the dialog and
//! watch the side effects to done, undo it, deactivate and reactivate, Reassign and Remove,
//! transfer ownership, the audit log, a narrow screen, an emailed invitation's link, and a removed
//! member's own open page falling back to sign-in. Once on the embedded default, once on
//! PostgreSQL and Redis with the side effects run by a worker of their own, beside an api that
//! runs none, as compose runs them. (The worker binary itself is `worker/tests/process.rs`'s.)
//!
//! `UPDATE_SCREENSHOTS=1` writes the README's screenshots (`docs/screenshots`) from the embedded
//! default's walk.

use std::path::{Path, PathBuf};

use entities::{MembershipStatus, Role, application, audit_entry, membership, user};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Answer, Backend, TestApp, accept_link_in, data, spawn_app, spawn_app_with, user_id};

use crate::support::{snapshot, start_worker};

const MEMBER: &str = "max.member@acme.test";
const UNDELIVERABLE: &str = "omar..owner@acme.test";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn the_people_page_on_the_embedded_default() {
    let app = spawn_app(Backend::Sqlite).await;
    let screenshots = std::env::var_os("UPDATE_SCREENSHOTS")
        .map(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots"));
    walk_and_judge(&app, screenshots).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(offboarding_no_browser, offboarding_sqlite_only),
    ignore = "OFFBOARDING_TESTS"
)]
async fn the_people_page_on_postgres_with_a_worker_of_its_own() {
    let app = spawn_app_with(Backend::Postgres, |config| {
        config.in_process_worker = false;
    })
    .await;
    let worker = start_worker(&app).await;
    walk_and_judge(&app, None).await;
    worker.stop().await;
}

/// Day one: the owner of a bootstrapped workspace signs in through the page and finds
/// themself alone with the next step, inviting people, whose button opens the invite form
/// (closed, nothing changes; sent, the person is invited and the step goes); a workspace with
/// people in it shows no such step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn a_bootstrapped_workspace_shows_its_owner_and_the_next_step() {
    let app = spawn_app_with(Backend::Sqlite, crate::bootstrap::first_day).await;
    let before = snapshot(&app).await;
    let screenshot = std::env::var_os("UPDATE_SCREENSHOTS")
        .map(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots/first-day.png"));
    let seen = tests::browser::run(
        "first-day.mjs",
        json!({ "url": app.address, "workspaceSlug": "people-ops",
                "email": crate::bootstrap::OWNER_EMAIL, "password": crate::bootstrap::PASSWORD,
                "screenshot": screenshot }),
    )
    .await;
    assert!(seen["error"].is_null(), "{seen}");
    assert_eq!(
        seen["members"],
        json!([crate::bootstrap::OWNER_EMAIL]),
        "{seen}"
    );
    assert_eq!(seen["nextStepShown"], true, "{seen}");
    let text = seen["nextStepText"].as_str().unwrap();
    assert!(
        text.starts_with("You're the only one here") && text.ends_with("Invite people"),
        "{text}"
    );
    assert_eq!(seen["inviteFormOpenedByButton"], true, "{seen}");
    assert_eq!(seen["axeViolations"], json!([]), "{seen}");
    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    assert_eq!(seen["membersAfterEscape"], seen["members"], "{seen}");
    assert_eq!(
        snapshot(&app).await,
        before,
        "nobody was invited by closing the form"
    );

    let seen = tests::browser::run(
        "first-day.mjs",
        json!({ "url": app.address, "workspaceSlug": "people-ops",
                "email": crate::bootstrap::OWNER_EMAIL, "password": crate::bootstrap::PASSWORD,
                "inviteEmail": "michael@initech.test" }),
    )
    .await;
    assert!(seen["error"].is_null(), "{seen}");
    let mut listed: Vec<&str> = seen["membersAfterInvite"]
        .items()
        .iter()
        .map(|email| email.as_str().unwrap())
        .collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        ["michael@initech.test", crate::bootstrap::OWNER_EMAIL]
    );
    assert_eq!(seen["nextStepAfterInvite"], false, "{seen}");
    let invited = crate::support::stored_invitation(&app, "michael@initech.test").await;
    assert_eq!(invited.role, Role::Member);

    let demo = spawn_app(Backend::Sqlite).await;
    let seen = tests::browser::run(
        "first-day.mjs",
        json!({ "url": demo.address, "workspaceSlug": "acme-marketing",
                "email": demo.demo.owner_email, "password": rules::demo::DEMO_PASSWORD }),
    )
    .await;
    assert!(seen["error"].is_null(), "{seen}");
    assert!(seen["members"].items().len() > 1, "{seen}");
    assert_eq!(
        seen["nextStepShown"], false,
        "not alone: no next step ({seen})"
    );
}

/// One of people.mjs's shorter walks, as the demo owner, with these settings besides: what it
/// saw, once it is known that nothing failed and the console stayed clean.
async fn walk(app: &TestApp, walk: &str, mut settings: Value) -> Answer {
    settings["walk"] = walk.into();
    settings["api"] = app.address.clone().into();
    settings["workspace"] = "acme-marketing".into();
    settings["owner"] = app.demo.owner_email.clone().into();
    settings["password"] = tests::DEMO_PASSWORD.into();
    let seen = tests::browser::run("people.mjs", settings).await;
    assert_eq!(seen["error"], Value::Null, "{seen}");
    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    seen
}

/// Paging: a search with more than one page of results, forward and back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn the_people_page_pages_through_a_long_list() {
    let app = spawn_app(Backend::Sqlite).await;
    tests::add_members(&app, 25).await;
    let seen = walk(&app, "pages", json!({ "search": "bench" })).await;
    let pages = step(&seen, "pages");
    let (first, second) = (rows(&pages["first"]), rows(&pages["second"]));
    assert_eq!((first.len(), second.len()), (20, 5), "{pages}");
    assert!(first.iter().all(|email| email.starts_with("bench-")));
    assert!(
        first.iter().all(|email| !second.contains(email)),
        "no one twice"
    );
    assert_eq!(pages["first"]["pager"], "1–20 of 25");
    assert_eq!(pages["second"]["pager"], "21–25 of 25");
    assert_eq!(rows(&pages["back"]), first);
}

/// Signing in, inviting, changing a role and removing someone with the keyboard alone, on both
/// backends.
async fn keyboard_only(backend: Backend) {
    let app = spawn_app(backend).await;
    let seen = walk(&app, "keyboard", json!({})).await;
    let walked = step(&seen, "keyboard");
    assert_eq!(
        walked["inviteFocus"], "emails",
        "the invite dialog opens on its first field"
    );
    assert_eq!(walked["chosen"], "MEMBER", "{walked}");
    assert_eq!(walked["roleToast"], "Gus Guest is now Member.");
    assert_eq!(walked["focusInDialog"], true);
    assert_eq!(
        membership_status(&app, "gus.guest@acme.test").await,
        None,
        "removed"
    );
    assert!(
        crate::support::stored_invitation(&app, "kay@acme.test")
            .await
            .expires_at
            > chrono::Utc::now()
    );
}

async fn membership_status(app: &TestApp, email: &str) -> Option<MembershipStatus> {
    let user = user_id(app, email).await;
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user))
        .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
        .filter(membership::Column::DeletedAt.is_null())
        .one(app.db())
        .await
        .unwrap()
        .map(|membership| membership.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn keyboard_only_on_the_embedded_default() {
    keyboard_only(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn keyboard_only_on_postgres() {
    keyboard_only(Backend::Postgres).await;
}

/// 10,000 members a search matches, selected at once from the list and removed in one call
/// from one dialog that says what happens to all of them; on both backends.
async fn ten_thousand_removed_from_one_dialog(backend: Backend) {
    let app = spawn_app(backend).await;
    tests::add_members(&app, 10_000).await;
    let seen = walk(&app, "many", json!({ "search": "bench" })).await;
    let many = step(&seen, "many");
    // A search counts up to 1,000: past it, the button names no number.
    assert_eq!(many["offered"], "Select all that match", "{many}");
    assert_eq!(many["removeButton"], "Remove 10,000 selected", "{many}");
    assert_eq!(many["title"], "Remove 10,000 people?");
    let summary: Vec<&str> = many["summary"]
        .items()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        summary[0], "10,000 people lose access to Marketing.",
        "{summary:?}"
    );
    assert_eq!(many["oneByOne"], 0, "nobody needs a choice: {many}");
    assert_eq!(many["done"], "10,000 people were removed");
    assert!(
        many["kinds"]
            .items()
            .iter()
            .any(|kind| *kind == "SEND_REMOVAL_EMAIL"),
        "{many}"
    );
    assert_eq!(many["after"], "Nobody matches “bench”.");
    let left = data(&app.as_owner("query($ws: UUID!) { members(workspaceId: $ws, filter: { search: \"bench\" }) { totalCount } }", json!({ "ws": app.demo.workspace_id })).await)["members"]["totalCount"].clone();
    assert_eq!(left, 0, "one call removed them all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn ten_thousand_removed_from_one_dialog_on_the_embedded_default() {
    ten_thousand_removed_from_one_dialog(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
#[cfg_attr(offboarding_sqlite_only, ignore = "OFFBOARDING_TESTS=sqlite-only")]
async fn ten_thousand_removed_from_one_dialog_on_postgres() {
    ten_thousand_removed_from_one_dialog(Backend::Postgres).await;
}

/// Reassign and Remove in a workspace of more than 100 members: the dialog lists the first 100,
/// and its search box finds the one it leaves out, who then holds the duty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(offboarding_no_browser, ignore = "OFFBOARDING_TESTS=no-browser")]
async fn the_remove_dialog_finds_an_assignee_beyond_the_first_hundred() {
    let app = spawn_app(Backend::Sqlite).await;
    let added = tests::add_members(&app, 220).await;
    // Gus, then 100 others, are removed: the audit log's About picker lists the first 100 people
    // removed, newest first, and leaves Gus out.
    app.remove_members(&[user_id(&app, "gus.guest@acme.test").await])
        .await;
    app.remove_members(&added[..100]).await;
    let assignee = "Max Member (max.member@acme.test)";
    let seen = tests::browser::run(
        "people.mjs",
        json!({
            "walk": "assignee",
            "api": app.address,
            "workspace": "acme-marketing",
            "owner": app.demo.owner_email,
            "password": tests::DEMO_PASSWORD,
            "search": "mia",
            "leaving": "Mia Member",
            "find": "max",
            "assignee": assignee,
            "about": { "find": "gus", "person": GUS_ABOUT, "name": "Gus Guest" },
        }),
    )
    .await;
    assert_eq!(seen["error"], Value::Null, "{seen}");
    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    let walked = step(&seen, "assignee");
    let options = |list: &str| -> Vec<&str> {
        walked[list]
            .items()
            .iter()
            .map(|option| option.as_str().unwrap())
            .collect()
    };
    let before = options("before");
    assert_eq!(
        before.len(),
        101,
        "a placeholder and the first 100: {walked}"
    );
    assert!(!before.contains(&assignee), "{walked}");
    assert!(options("found").contains(&assignee), "{walked}");
    assert_eq!(walked["status"], "1 member matches “max”.", "{walked}");
    assert_eq!(
        walked["errorsAfterEnter"], 0,
        "Enter searched, it did not confirm"
    );
    done(&walked["removed"]);
    let max = user_id(&app, MEMBER).await;
    let ad_server = application::Entity::find()
        .filter(application::Column::Name.eq("Ad server"))
        .one(app.db())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ad_server.technical_contact_id, Some(max));

    let about = step(&seen, "about");
    let before: Vec<&str> = about["before"]
        .items()
        .iter()
        .map(|option| option.as_str().unwrap())
        .collect();
    assert_eq!(
        before.len(),
        201,
        "Anyone, the first 100 members and the first 100 removed: {about}"
    );
    assert!(
        before.contains(&"Mia Member (mia.member@acme.test, removed)"),
        "{about}"
    );
    assert!(!before.contains(&GUS_ABOUT), "{about}");
    assert_eq!(about["status"], "1 person matches “gus”.", "{about}");
    assert_eq!(
        about["actions"],
        json!(["TEAM_MEMBERSHIP_REMOVE"]),
        "{about}"
    );
}

/// Gus, removed, as the audit log's About picker names him.
const GUS_ABOUT: &str = "Gus Guest (gus.guest@acme.test, removed)";

async fn walk_and_judge(app: &TestApp, screenshots: Option<PathBuf>) {
    let invitation_link = emailed_invitation(app, "nora@acme.test").await;
    // Ada has a session and a key of her own (her page shows both, to end and revoke); Omar's
    // key outlives his removal in the walk (the API keys view marks it).
    let ada = app.sign_in("ada.admin@acme.test").await;
    app.sign_in("ada.admin@acme.test").await;
    crate::support::create_api_key(app, &ada, "Ada sync", "MEMBER").await;
    let omar = app.sign_in("omar.owner@acme.test").await;
    crate::support::create_api_key(app, &omar, "Omar reports", "MEMBER").await;
    // An address no mail server takes (from an import, say): the removal email to Omar can never
    // be sent, so the walk sees a side effect fail, and retries it.
    user::Entity::update_many()
        .col_expr(user::Column::Email, UNDELIVERABLE.into())
        .filter(user::Column::Email.eq("omar.owner@acme.test"))
        .exec(app.db())
        .await
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let screenshots = screenshots.unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&screenshots).unwrap();
    let seen = tests::browser::run(
        "people.mjs",
        json!({
            "api": app.address,
            "workspace": "acme-marketing",
            "owner": app.demo.owner_email,
            "member": MEMBER,
            "memberName": "Max Member",
            "password": tests::DEMO_PASSWORD,
            "invitationLink": invitation_link,
            "screenshots": screenshots,
        }),
    )
    .await;
    judge(&seen);
    for name in [
        "people-list",
        "remove-dialog",
        "removal-progress",
        "people-narrow",
    ] {
        let png = std::fs::read(screenshots.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png is a PNG");
    }
    what_the_page_did_is_what_the_database_holds(app).await;
    // The group ticked in the invite dialog is Pia's.
    let pia = app
        .as_owner(
            "query($ws: UUID!) { members(workspaceId: $ws, filter: { search: \"pia@\" }) { nodes { groups { name } } } }",
            json!({ "ws": app.demo.workspace_id }),
        )
        .await;
    let group = step(&seen, "inviteMany")["groupName"].clone();
    assert_eq!(
        data(&pia)["members"]["nodes"][0]["groups"],
        json!([{ "name": group }]),
        "{pia}"
    );
}

/// Invites someone (the invitation is emailed) and returns the path and fragment of the link
/// the email carries, to open on this test's server.
async fn emailed_invitation(app: &TestApp, email: &str) -> String {
    let answer = app
        .as_owner("mutation($input: InviteMemberInput!) { inviteMember(input: $input) { emailDelivery { id } userErrors { code } } }", json!({ "input": { "workspaceId": app.demo.workspace_id, "email": email, "role": "MEMBER" } }))
        .await;
    let id = data(&answer)["inviteMember"]["emailDelivery"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an emailed invitation: {answer}"))
        .to_owned();
    let (_, raw) = app.delivered_email(&id).await;
    let link = accept_link_in(&raw);
    let path = &link[link.find("/accept-invitation").expect("the accept path")..];
    path.to_owned()
}

/// The steps, by name.
fn step<'a>(seen: &'a Answer, name: &str) -> &'a Answer {
    seen["steps"]
        .items()
        .iter()
        .find(|step| step["name"] == name)
        .unwrap_or_else(|| panic!("the walk reached {name}: {seen}"))
}

/// The text a step (or job) shows in `field`, which must be there.
fn shown<'a>(step: &'a Answer, field: &str) -> &'a str {
    step[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {step}"))
}

fn rows(step: &Answer) -> Vec<&str> {
    step["rows"]
        .items()
        .iter()
        .map(|row| row.as_str().unwrap())
        .collect()
}

fn done(step: &Answer) {
    assert!(shown(step, "summary").starts_with("Done"), "{step}");
    let kinds: Vec<&str> = step["jobs"]
        .items()
        .iter()
        .map(|job| {
            assert_eq!(job["status"], "succeeded", "{step}");
            job["kind"].as_str().unwrap()
        })
        .collect();
    assert!(kinds.contains(&"END_SESSIONS"), "{step}");
}

fn judge(seen: &Answer) {
    judge_signing_in_and_the_list(seen);
    judge_the_actions(seen);
    judge_failures_history_and_reach(seen);
}

/// No error, nothing fetched elsewhere; sign-in refused then accepted; the list, its search and
/// filters, and what a member may not do.
fn judge_signing_in_and_the_list(seen: &Answer) {
    assert_eq!(seen["error"], Value::Null, "{seen}");
    assert_eq!(seen["consoleErrors"], json!([]), "{seen}");
    assert_eq!(
        seen["foreignRequests"],
        json!([]),
        "no request leaves the server"
    );

    assert!(
        shown(step(seen, "refused"), "error").contains("password"),
        "a wrong password is said on the form"
    );
    let signed_in = step(seen, "signedIn");
    assert!(rows(signed_in).contains(&"mia.member@acme.test"));
    assert!(
        shown(signed_in, "seats").contains("of 25 seats used, "),
        "{signed_in}"
    );
    let member_view = step(seen, "memberView");
    assert!(member_view["rows"].as_u64().unwrap() > 1);
    assert_eq!(
        member_view["removeButtons"], 0,
        "a member sees no actions they may not take"
    );
    assert_eq!(rows(step(seen, "search")), ["mia.member@acme.test"]);
    assert!(!rows(step(seen, "hideDeactivated")).contains(&"dana.deactivated@acme.test"));
    assert_eq!(
        rows(step(seen, "statusFilter")),
        ["ivy.invited@acme.test", "nora@acme.test"]
    );
}

/// The dialogs and what each action did: remove, undo, deactivate, reactivate, reassign and
/// remove, two at once, and a removed member's open page.
fn judge_the_actions(seen: &Answer) {
    let escape = step(seen, "escape");
    assert_eq!(escape["focusInDialog"], true);
    assert_eq!(escape["focusStaysInDialog"], true, "focus is trapped");
    assert_eq!(escape["focusBackOn"], "Remove Gus Guest");

    // Each dialog states the consequences the API's preview gives, word for word; the
    // deactivation's seat stays taken.
    for (preview, sentence) in [
        ("removeGusPreview", "Their seat is freed."),
        (
            "deactivateGusPreview",
            "Their seat stays taken: a deactivated member keeps it.",
        ),
        (
            "reactivateGusPreview",
            "Their seat is unchanged: they kept it while deactivated.",
        ),
    ] {
        let said = step(seen, preview);
        assert_eq!(said["shown"], said["said"], "{preview}");
        assert!(
            said["shown"].items().iter().any(|shown| *shown == sentence),
            "{preview}: {said}"
        );
    }
    judge_invitations_and_roles(seen);
    let removed = step(seen, "removeGus");
    done(removed);
    assert_eq!(
        removed["title"], "Gus Guest was removed",
        "the done dialog says what was done"
    );
    assert_eq!(removed["toast"], "Gus Guest was removed.");
    let undone = step(seen, "undoDeactivation");
    done(undone);
    assert_eq!(undone["title"], "Gus Guest was deactivated");
    assert_eq!(undone["gus"], "Active", "the toast's Undo reactivated him");
    let filters = step(seen, "filtersAgree");
    assert_eq!(filters["hideWhenOnlyDeactivated"], true);
    assert_eq!(filters["deactivatedOptionWhenHidden"], true);
    assert!(!rows(step(seen, "afterRemoveGus")).contains(&"gus.guest@acme.test"));
    assert_eq!(step(seen, "afterUndo")["gus"], "Active");
    done(step(seen, "deactivateGus"));
    assert_eq!(step(seen, "afterDeactivate")["gus"], "Deactivated");
    assert_eq!(step(seen, "afterReactivate")["gus"], "Active");
    assert!(shown(step(seen, "reassignRequired"), "error").contains("contact duties"));
    done(step(seen, "reassignAndRemoveMia"));
    let two = step(seen, "removeTwo");
    assert_eq!(two["sections"].items().len(), 2, "{two}");
    done(two);
    let after = rows(step(seen, "afterRemoveTwo"));
    assert!(
        !after.contains(&"dana.deactivated@acme.test") && !after.contains(&"ivy.invited@acme.test")
    );
    done(step(seen, "removeMember"));
    let fallen_back = step(seen, "removedMemberPage");
    assert!(
        shown(fallen_back, "notice").contains("Sign in again"),
        "{fallen_back}"
    );
    assert_eq!(fallen_back["tokenKept"], 0);
}

/// A dead email shown with its error, the network lost, the audit log, a narrow screen, an
/// accepted invitation, signing out, and what axe found.
fn judge_failures_history_and_reach(seen: &Answer) {
    let failed = step(seen, "failedJob");
    assert!(
        shown(failed, "summary").starts_with("Some side effects failed"),
        "{failed}"
    );
    assert_eq!(failed["dead"][0]["kind"], "SEND_REMOVAL_EMAIL", "{failed}");
    assert!(
        shown(&failed["dead"][0], "error").contains(UNDELIVERABLE),
        "{failed}"
    );

    assert!(
        shown(step(seen, "offline"), "error").contains("can't be reached"),
        "a network failure is said where it happened"
    );
    let audit = step(seen, "audit")["actions"].items();
    assert!(
        audit.len() >= 6,
        "Gus, Mia, Dana, Ivy, Max and Omar: {audit:?}"
    );
    assert!(
        audit
            .iter()
            .all(|action| *action == "TEAM_MEMBERSHIP_REMOVE")
    );
    judge_the_audit_log(seen);
    // Every view fits its width: 1280 px and 390 px, no sideways scrolling.
    let widths = &step(seen, "views")["widths"];
    for view in [
        "people",
        "invitations",
        "keys",
        "audit",
        "removed",
        "member",
    ] {
        for width in [1280, 390] {
            let scroll = widths[format!("{view}-{width}").as_str()].as_u64().unwrap();
            assert!(
                scroll <= width,
                "{view} at {width} px scrolls to {scroll} px"
            );
        }
    }
    let narrow = step(seen, "narrow");
    assert!(narrow["scrollWidth"].as_u64().unwrap() <= 390, "{narrow}");
    assert!(narrow["removeButtons"].as_u64().unwrap() > 0);
    let accepted = step(seen, "accepted");
    assert_eq!(accepted["who"], "Nora New (member)");
    // Before joining, the page said where, as what, and who invited.
    assert_eq!(accepted["title"], "Join Marketing", "{accepted}");
    assert_eq!(
        accepted["intro"], "Olivia Owner invited you to join Marketing as Member.",
        "{accepted}"
    );
    assert_eq!(accepted["path"], "/", "the token leaves the address bar");
    assert_eq!(step(seen, "signedOut")["tokenKept"], 0);
    let violations = &step(seen, "accessibility")["violations"];
    for screen in [
        "signIn",
        "people",
        "removeDialog",
        "recentlyRemoved",
        "auditLog",
        "invitations",
        "inviteDialog",
        "apiKeys",
        "memberPage",
    ] {
        assert_eq!(
            violations[screen],
            json!([]),
            "axe finds nothing on {screen}"
        );
    }
}

/// What the walk did, read back from the database.
async fn what_the_page_did_is_what_the_database_holds(app: &TestApp) {
    let db = app.db();
    let membership_of = async |email: &str| {
        membership::Entity::find()
            .filter(membership::Column::WorkspaceId.eq(app.demo.workspace_id))
            .filter(membership::Column::UserId.eq(user_id(app, email).await))
            .one(db)
            .await
            .unwrap()
            .unwrap()
    };
    for removed in [
        "mia.member@acme.test",
        MEMBER,
        "dana.deactivated@acme.test",
        "ivy.invited@acme.test",
    ] {
        assert!(
            membership_of(removed).await.deleted_at.is_some(),
            "{removed}"
        );
    }
    let gus = membership_of("gus.guest@acme.test").await;
    assert_eq!(
        (gus.status, gus.deleted_at),
        (MembershipStatus::Active, None)
    );
    assert_eq!(membership_of("ada.admin@acme.test").await.role, Role::Owner);
    let retried = audit_entry::Entity::find()
        .filter(audit_entry::Column::Action.eq("job_retry"))
        .count(db)
        .await
        .unwrap();
    assert_eq!(retried, 1, "the Retry button retried the dead job");
    assert_eq!(
        membership_of("nora@acme.test").await.status,
        MembershipStatus::Active
    );
    let ad_server = application::Entity::find()
        .filter(application::Column::Name.eq("Ad server"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        ad_server.technical_contact_id,
        Some(user_id(app, "ada.admin@acme.test").await),
        "Mia's duty went to whom the dialog named"
    );
}

/// Three invited at once (one refused with the API's reason, left in the box), the open
/// invitations with who sent them, one revoked and one resent, and a role changed, each said in
/// a toast.
fn judge_invitations_and_roles(seen: &Answer) {
    let many = step(seen, "inviteMany");
    assert!(
        shown(many, "seatsBefore").contains("of 25 seats used"),
        "{many}"
    );
    let results: Vec<&str> = many["results"]
        .items()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(results.contains(&"pia@acme.test: invited."), "{many}");
    assert!(results.contains(&"quinn@acme.test: invited."), "{many}");
    assert!(
        results
            .iter()
            .any(|r| r.starts_with("mia.member@acme.test: ") && r.contains("already")),
        "{many}"
    );
    assert_eq!(
        many["left"], "mia.member@acme.test",
        "only the refused stay in the box"
    );

    let invitations = step(seen, "invitations");
    let listed = |key: &str| -> Vec<(String, String, String)> {
        invitations[key]
            .items()
            .iter()
            .map(|row| {
                (
                    row["email"].as_str().unwrap().to_owned(),
                    row["status"].as_str().unwrap().to_owned(),
                    row["invitedBy"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let before = listed("listed");
    for email in ["pia@acme.test", "quinn@acme.test"] {
        assert!(
            before.contains(&(
                email.to_owned(),
                "PENDING".to_owned(),
                "Olivia Owner".to_owned()
            )),
            "{email}: {before:?}"
        );
    }
    assert_eq!(
        invitations["revokedToast"],
        "The invitation of quinn@acme.test is revoked."
    );
    assert_eq!(
        invitations["resentToast"],
        "A new invitation was sent to pia@acme.test."
    );
    let after = listed("after");
    assert!(
        !after.iter().any(|(email, ..)| email == "quinn@acme.test"),
        "{after:?}"
    );
    assert!(
        after.iter().any(|(email, ..)| email == "pia@acme.test"),
        "{after:?}"
    );
    assert_eq!(
        step(seen, "roleChange")["toast"],
        "Max Member is now Admin."
    );
    let page = step(seen, "memberPage");
    assert_eq!(page["role"], "Admin", "{page}");
    // The demo's "CI deploy" and the one the test gave her.
    assert_eq!(page["keys"], json!(["Ada sync", "CI deploy"]), "{page}");
    assert_eq!(page["oneSessionToast"], "A session of Ada Admin ended.");
    assert_eq!(page["sessionsLeft"], "Open sessions (1)");
    assert_eq!(page["sessionsToast"], "1 session of Ada Admin ended.");
    assert_eq!(page["sessionsAfter"], "Open sessions (0)");
    assert!(
        page["maxHistory"].items().iter().any(|entry| entry
            .as_str()
            .unwrap()
            .ends_with("Olivia Owner changed the role of Max Member from Member to Admin.")),
        "{page}"
    );
}

/// The audit log reads as sentences, each entry's details (and its side effects) one click
/// away, exported as CSV, and filtered by date.
fn judge_the_audit_log(seen: &Answer) {
    let audit = step(seen, "audit");
    let summaries: Vec<&str> = audit["summaries"]
        .items()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        summaries.contains(&"Olivia Owner removed Gus Guest."),
        "{summaries:?}"
    );
    assert!(
        summaries
            .iter()
            .all(|summary| summary.starts_with("Olivia Owner removed ")),
        "{summaries:?}"
    );
    let details = step(seen, "auditDetails");
    assert!(shown(details, "recorded").contains("role"), "{details}");
    let effects: Vec<&str> = details["sideEffects"]
        .items()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        effects
            .iter()
            .any(|effect| effect.starts_with("end sessions: ")),
        "{effects:?}"
    );
    assert_eq!(details["file"], "audit-log.csv");
    let exported: Vec<&str> = details["exported"]
        .items()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert_eq!(
        exported[0],
        "when,action,summary,by,about,reason,request id"
    );
    assert_eq!(
        exported.len() - 1,
        summaries.len(),
        "every entry the filter keeps: {exported:?}"
    );
    assert!(
        exported.iter().any(|line| line.contains(",TEAM_MEMBERSHIP_REMOVE,Olivia Owner removed Gus Guest.,olivia.owner@acme.test,gus.guest@acme.test,")),
        "{exported:?}"
    );
    assert_eq!(details["fromTomorrow"], "No entries match.");
}

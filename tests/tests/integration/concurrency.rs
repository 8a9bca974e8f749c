//! Every mutation at once. Sixteen clients send thousands of calls over real HTTP, mixing
//! invitations, acceptances, resends, revocations, role changes, removals, deactivations,
//! reactivations, restores, contact reassignments, ownership transfers, API keys, ended sessions
//! and seat limit changes, all on the same handful of people, so that the calls overlap inside
//! the database. A rule may refuse a call (that is data, in `userErrors`); nothing may fail:
//! no 5xx, no INTERNAL, no `CONFLICT_RETRY` (a deadlock or serialization failure is retried by
//! the server, and the lock order keeps them rare). Afterwards the invariants hold: an active
//! owner, seats counted as the rows they count, at most one live membership per person, every
//! waiting invitation matching an invited membership, and audit entries exactly one per applied
//! change (each call carries its own `x-request-id`, which its audit entries keep).

use std::collections::HashMap;
use std::sync::Mutex;

use entities::{UserId, workspace};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, EntityTrait, Statement};
use serde_json::{Value, json};
use tests::{TestApp, backend_tests};
use uuid::Uuid;

use crate::support::{ADA, DANA, GUS, IVY, MAX, MIA, OMAR, people};

backend_tests!(sixteen_clients_mixing_every_mutation_break_no_rule_and_fail_no_call);

const CLIENTS: usize = 16;
/// Calls per client: 2,400 in all.
const CALLS_PER_CLIENT: usize = 150;
/// New people invited at most, beside the demo people: few, so the calls keep meeting.
const MAX_NEW_PEOPLE: usize = 16;
const PASSWORD: &str = "concurrency-password";

/// The calls the clients choose from, each as likely as the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Op {
    Invite,
    Accept,
    Resend,
    RevokeInvitation,
    ChangeRole,
    Remove,
    Deactivate,
    Reactivate,
    Restore,
    Reassign,
    Transfer,
    CreateKey,
    RevokeKey,
    EndSessions,
    SeatLimit,
}

const OPS: [Op; 15] = [
    Op::Invite,
    Op::Accept,
    Op::Resend,
    Op::RevokeInvitation,
    Op::ChangeRole,
    Op::Remove,
    Op::Deactivate,
    Op::Reactivate,
    Op::Restore,
    Op::Reassign,
    Op::Transfer,
    Op::CreateKey,
    Op::RevokeKey,
    Op::EndSessions,
    Op::SeatLimit,
];

impl Op {
    /// The audit action an applied call of this kind writes, once per member it changed.
    fn action(self) -> &'static str {
        match self {
            Op::Invite => "team_membership_invite",
            Op::Accept => "team_membership_join",
            Op::Resend => "invitation_resend",
            Op::RevokeInvitation => "invitation_revoke",
            Op::ChangeRole => "team_membership_role_change",
            Op::Remove => "team_membership_remove",
            Op::Deactivate => "team_membership_deactivate",
            Op::Reactivate => "team_membership_reactivate",
            Op::Restore => "team_membership_restore",
            Op::Reassign => "contacts_reassign",
            Op::Transfer => "ownership_transfer",
            Op::CreateKey => "api_key_create",
            Op::RevokeKey => "api_key_revoke",
            Op::EndSessions => "sessions_end",
            Op::SeatLimit => "seat_limit_change",
        }
    }
}

/// What the clients share: the people they act on, and the invitations and keys they made.
struct Pool {
    people: Vec<(UserId, String)>,
    /// Waiting invitations: id and the token of their latest link.
    invitations: Vec<(Uuid, String)>,
    keys: Vec<Uuid>,
    new_people: usize,
}

/// One call as sent and as answered.
struct Call {
    op: Op,
    request_id: String,
    status: u16,
    /// The top-level errors' codes.
    error_codes: Vec<String>,
    /// The payload's `userErrors` codes.
    refusals: Vec<String>,
    /// Audit entries the call must have written if it was applied; `None` when it may write
    /// none while still succeeding (a role change to the role already held).
    expected_entries: Option<usize>,
}

impl Call {
    fn applied(&self) -> bool {
        self.status == 200 && self.error_codes.is_empty() && self.refusals.is_empty()
    }

    /// A 5xx, or a top-level error no rule answers with. Acceptances share the sign-in limit of
    /// one client address (all of these come from loopback): RATE_LIMITED is a refusal there.
    fn failed(&self) -> bool {
        let limited = self.op == Op::Accept && self.error_codes == ["RATE_LIMITED"];
        self.status >= 500 || (!self.error_codes.is_empty() && !limited)
    }
}

struct Client<'a> {
    app: &'a TestApp,
    actors: &'a [String],
    owners: &'a [String],
    pool: &'a Mutex<Pool>,
    rng: StdRng,
    name: usize,
    sent: usize,
}

async fn sixteen_clients_mixing_every_mutation_break_no_rule_and_fail_no_call(app: TestApp) {
    let seed = std::env::var("CONCURRENCY_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    println!("concurrency seed {seed} (CONCURRENCY_SEED={seed} replays the choices)");
    let (owners, actors) = actors(&app).await;
    let targets = people(&app, [MIA, MAX, GUS, DANA, IVY]).await;
    let emails = [MIA, MAX, GUS, DANA, IVY].map(str::to_owned);
    let pool = Mutex::new(Pool {
        people: targets.into_iter().zip(emails).collect(),
        invitations: Vec::new(),
        keys: Vec::new(),
        new_people: 0,
    });
    let started = std::time::Instant::now();
    let calls: Vec<Call> = {
        let clients = (0..CLIENTS).map(|name| {
            let client = Client {
                app: &app,
                actors: &actors,
                owners: &owners,
                pool: &pool,
                rng: StdRng::seed_from_u64(seed.wrapping_add(name as u64)),
                name,
                sent: 0,
            };
            client.run()
        });
        futures_util::future::join_all(clients)
            .await
            .into_iter()
            .flatten()
            .collect()
    };
    report(&calls, started.elapsed());
    print_conflicts(&app).await;
    assert_no_call_failed(&calls);
    assert_invariants(&app, &calls).await;
}

/// Two owners (the demo owner and Omar) and an admin (Ada) act; none of them is ever a target,
/// so their own rights stay what they were. The owners' tokens first.
async fn actors(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let owners = vec![app.owner_token().to_owned(), app.sign_in(OMAR).await];
    let mut actors = owners.clone();
    actors.push(app.sign_in(ADA).await);
    (owners, actors)
}

impl Client<'_> {
    async fn run(mut self) -> Vec<Call> {
        let mut calls = Vec::with_capacity(CALLS_PER_CLIENT);
        for _ in 0..CALLS_PER_CLIENT {
            let op = *OPS.choose(&mut self.rng).expect("ops");
            calls.push(self.call(op).await);
        }
        calls
    }

    fn person(&mut self) -> (UserId, String) {
        let pool = self.pool.lock().unwrap();
        pool.people.choose(&mut self.rng).expect("people").clone()
    }

    fn actor(&mut self) -> String {
        self.actors.choose(&mut self.rng).expect("actors").clone()
    }

    fn owner(&mut self) -> String {
        self.owners.choose(&mut self.rng).expect("owners").clone()
    }

    fn role(&mut self) -> &'static str {
        ["ADMIN", "MEMBER", "GUEST"]
            .choose(&mut self.rng)
            .expect("roles")
    }

    /// The op itself, or the one that makes what it needs when nothing is there to act on yet.
    fn available(&self, op: Op) -> Op {
        let pool = self.pool.lock().unwrap();
        match op {
            Op::Accept | Op::Resend | Op::RevokeInvitation if pool.invitations.is_empty() => {
                Op::Invite
            }
            Op::RevokeKey if pool.keys.is_empty() => Op::CreateKey,
            op => op,
        }
    }

    async fn call(&mut self, op: Op) -> Call {
        let op = self.available(op);
        let ws = self.app.demo.workspace_id;
        let one = Some(1);
        let (token, document, input, expected) = match op {
            Op::Invite => {
                let email = self.email_to_invite();
                let input = json!({ "workspaceId": ws, "email": email, "role": self.role(), "sendEmail": false });
                (Some(self.actor()), INVITE, input, one)
            }
            Op::Accept => {
                let (_, link) = self.invitation();
                let input =
                    json!({ "token": link, "name": "Concurrent Person", "password": PASSWORD });
                (None, ACCEPT, input, one)
            }
            Op::Resend | Op::RevokeInvitation => {
                let (id, _) = self.invitation();
                if op == Op::Resend {
                    let input = json!({ "invitationId": id, "sendEmail": false });
                    (Some(self.actor()), RESEND, input, one)
                } else {
                    (
                        Some(self.actor()),
                        REVOKE_INVITATION,
                        json!({ "invitationId": id }),
                        one,
                    )
                }
            }
            Op::ChangeRole => {
                let (user, _) = self.person();
                let input = json!({ "workspaceId": ws, "userId": user, "role": self.role() });
                (Some(self.actor()), UPDATE_ROLE, input, None)
            }
            Op::Remove => {
                let count = self.rng.random_range(1..=3);
                let mut users: Vec<UserId> = (0..count).map(|_| self.person().0).collect();
                users.sort();
                users.dedup();
                let expected = Some(users.len());
                let input = json!({ "workspaceId": ws, "userIds": users, "reason": "concurrency" });
                (Some(self.actor()), REMOVE, input, expected)
            }
            Op::Deactivate | Op::Reactivate | Op::Restore | Op::EndSessions => {
                let (user, _) = self.person();
                let document = match op {
                    Op::Deactivate => DEACTIVATE,
                    Op::Reactivate => REACTIVATE,
                    Op::Restore => RESTORE,
                    _ => END_SESSIONS,
                };
                let input = json!({ "workspaceId": ws, "userId": user });
                (Some(self.actor()), document, input, one)
            }
            Op::Reassign => {
                let holder = workspace::Entity::find_by_id(ws)
                    .one(self.app.db())
                    .await
                    .unwrap()
                    .expect("the workspace")
                    .technical_contact_id;
                // Nobody holds it: anyone is named, and the call is refused (NOT_A_CONTACT).
                let holder = match holder {
                    Some(holder) => holder,
                    None => self.person().0,
                };
                let (to, _) = self.person();
                let input = json!({ "workspaceId": ws, "fromUserId": holder,
                    "assignments": [{ "duty": "TECHNICAL_CONTACT", "toUserId": to }] });
                (Some(self.actor()), REASSIGN, input, one)
            }
            Op::Transfer => {
                let (to, _) = self.person();
                let input = json!({ "workspaceId": ws, "toUserId": to });
                (Some(self.owner()), TRANSFER, input, one)
            }
            Op::CreateKey => {
                let input =
                    json!({ "workspaceId": ws, "name": "concurrent key", "role": self.role() });
                (Some(self.actor()), CREATE_KEY, input, one)
            }
            Op::RevokeKey => {
                let key = *self
                    .pool
                    .lock()
                    .unwrap()
                    .keys
                    .choose(&mut self.rng)
                    .expect("a key");
                (
                    Some(self.actor()),
                    REVOKE_KEY,
                    json!({ "apiKeyId": key }),
                    one,
                )
            }
            Op::SeatLimit => {
                let limit = match self.rng.random_range(0..3) {
                    0 => Value::Null,
                    _ => json!(self.rng.random_range(8..24)),
                };
                let input =
                    json!({ "organizationId": self.app.demo.organization_id, "seatLimit": limit });
                (Some(self.owner()), SEAT_LIMIT, input, one)
            }
        };
        let request_id = format!("concurrency-{}-{}", self.name, self.sent);
        self.sent += 1;
        let (status, answer) = self
            .send(token.as_deref(), document, input, &request_id)
            .await;
        let call = Call {
            op,
            request_id,
            status,
            error_codes: error_codes(&answer),
            refusals: refusals(&answer),
            expected_entries: expected,
        };
        if call.applied() {
            self.learn(op, &answer).await;
        }
        call
    }

    /// A new person while there is room for one, else someone known (who may be a member
    /// already, or removed and invited back).
    fn email_to_invite(&mut self) -> String {
        let mut pool = self.pool.lock().unwrap();
        if pool.new_people < MAX_NEW_PEOPLE && self.rng.random_bool(0.5) {
            pool.new_people += 1;
            return format!("concurrent-{}-{}@acme.test", self.name, self.sent);
        }
        pool.people.choose(&mut self.rng).expect("people").1.clone()
    }

    fn invitation(&mut self) -> (Uuid, String) {
        let pool = self.pool.lock().unwrap();
        pool.invitations
            .choose(&mut self.rng)
            .expect("an invitation")
            .clone()
    }

    async fn send(
        &self,
        token: Option<&str>,
        document: &str,
        input: Value,
        request_id: &str,
    ) -> (u16, Value) {
        let mut request = self
            .app
            .client
            .post(self.app.graphql_url())
            .header("x-request-id", request_id)
            .json(&json!({ "query": document, "variables": { "input": input } }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let answer = serde_json::from_str(&text).unwrap_or_else(|_| json!({ "body": text }));
        (status, answer)
    }

    /// What an applied call made that later calls may act on.
    async fn learn(&mut self, op: Op, answer: &Value) {
        let payload = payload(answer);
        match op {
            Op::Invite => {
                let user: UserId = serde_json::from_value(payload["member"]["user"]["id"].clone())
                    .expect("the invited person's id");
                let email = payload["member"]["user"]["email"].as_str().expect("email");
                let link = payload["invitationToken"].as_str().expect("a token");
                let membership: Uuid =
                    serde_json::from_value(payload["member"]["id"].clone()).expect("membership");
                let invitation = invitation_of(self.app, membership).await;
                let mut pool = self.pool.lock().unwrap();
                if !pool.people.iter().any(|(id, _)| *id == user) {
                    pool.people.push((user, email.to_owned()));
                }
                pool.invitations.push((invitation, link.to_owned()));
            }
            Op::Resend => {
                let id: Uuid = serde_json::from_value(payload["invitation"]["id"].clone())
                    .expect("the invitation's id");
                let link = payload["invitationToken"].as_str().expect("a token");
                let mut pool = self.pool.lock().unwrap();
                for (invitation, old) in &mut pool.invitations {
                    if *invitation == id {
                        *old = link.to_owned();
                    }
                }
            }
            Op::CreateKey => {
                let id: Uuid =
                    serde_json::from_value(payload["apiKey"]["id"].clone()).expect("the key's id");
                self.pool.lock().unwrap().keys.push(id);
            }
            _ => {}
        }
    }
}

async fn invitation_of(app: &TestApp, membership: Uuid) -> Uuid {
    let row = app
        .db()
        .query_one_raw(Statement::from_sql_and_values(
            app.db().get_database_backend(),
            "SELECT id FROM invitation WHERE membership_id = $1 ORDER BY created_at DESC LIMIT 1",
            [membership.into()],
        ))
        .await
        .unwrap()
        .expect("the invitation of an invited membership");
    row.try_get("", "id").unwrap()
}

/// The payload of a one-mutation answer.
fn payload(answer: &Value) -> &Value {
    answer["data"]
        .as_object()
        .and_then(|data| data.values().next())
        .unwrap_or(&Value::Null)
}

fn error_codes(answer: &Value) -> Vec<String> {
    let Some(errors) = answer.get("errors").and_then(Value::as_array) else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|error| {
            error["extensions"]["code"]
                .as_str()
                .unwrap_or("(no code)")
                .to_owned()
        })
        .collect()
}

fn refusals(answer: &Value) -> Vec<String> {
    payload(answer)["userErrors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|error| error["code"].as_str().unwrap_or("(no code)").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn report(calls: &[Call], took: std::time::Duration) {
    let mut by_op: HashMap<Op, (usize, usize, usize)> = HashMap::new();
    for call in calls {
        let counts = by_op.entry(call.op).or_default();
        if call.applied() {
            counts.0 += 1;
        } else if call.failed() {
            counts.2 += 1;
        } else {
            counts.1 += 1;
        }
    }
    let mut rows: Vec<_> = by_op.into_iter().collect();
    rows.sort();
    println!(
        "{} calls from {CLIENTS} clients in {:.1} s",
        calls.len(),
        took.as_secs_f64()
    );
    for (op, (applied, refused, failed)) in rows {
        println!(
            "  {op:?}: {applied} applied, {refused} refused by a rule or limit, {failed} failed"
        );
    }
}

/// The transactions the server ran again for a conflict, and gave up on, as `/metrics` counts
/// them: for reading, not asserted (the lock order makes them rare, and the count is the
/// process's, shared with the tests running beside this one).
async fn print_conflicts(app: &TestApp) {
    let metrics = app.get("/metrics").await.text().await.unwrap_or_default();
    let conflicts: Vec<&str> = metrics
        .lines()
        .filter(|line| line.starts_with("transaction_conflicts_total{"))
        .collect();
    println!("transaction conflicts: {conflicts:?}");
}

fn assert_no_call_failed(calls: &[Call]) {
    let failed: Vec<String> = calls
        .iter()
        .filter(|call| call.failed())
        .map(|call| {
            format!(
                "{:?} {} → HTTP {} {:?}",
                call.op, call.request_id, call.status, call.error_codes
            )
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} calls failed (no rule refuses with a top-level error here):\n{}",
        failed.len(),
        calls.len(),
        failed.join("\n")
    );
    for op in OPS {
        assert!(
            calls.iter().any(|call| call.op == op && call.applied()),
            "no {op:?} was applied: the mix didn't exercise it"
        );
    }
}

async fn assert_invariants(app: &TestApp, calls: &[Call]) {
    let ws = sea_orm::Value::from(app.demo.workspace_id.0);
    let org = sea_orm::Value::from(app.demo.organization_id.0);
    let active_owners = number(
        app,
        "SELECT count(*) AS n FROM membership WHERE workspace_id = $1 \
         AND role = 'OWNER' AND status = 'ACTIVE' AND deleted_at IS NULL",
        [ws.clone()],
    )
    .await;
    assert!(active_owners >= 1, "the workspace kept an active owner");

    let doubled = number(
        app,
        "SELECT count(*) AS n FROM (SELECT workspace_id, user_id FROM membership \
         WHERE deleted_at IS NULL GROUP BY workspace_id, user_id HAVING count(*) > 1) AS twice",
        [],
    )
    .await;
    assert_eq!(
        doubled, 0,
        "nobody holds two live memberships in one workspace"
    );

    let seated = number(
        app,
        "SELECT count(DISTINCT m.user_id) AS n FROM membership m \
         JOIN workspace w ON w.id = m.workspace_id \
         WHERE w.organization_id = $1 AND m.deleted_at IS NULL",
        [org],
    )
    .await;
    let usage = app
        .as_owner(
            crate::support::SEATS,
            json!({ "org": app.demo.organization_id }),
        )
        .await;
    let usage = &tests::data(&usage)["seatUsage"];
    assert_eq!(
        usage["used"].as_i64(),
        Some(seated),
        "seatUsage counts the people holding a live membership"
    );
    if let Some(limit) = usage["limit"].as_i64() {
        assert!(
            seated <= limit,
            "{seated} seats used under a limit of {limit}"
        );
    }

    let invited_without_invitation = number(
        app,
        "SELECT count(*) AS n FROM membership m WHERE m.workspace_id = $1 \
         AND m.deleted_at IS NULL AND m.status = 'INVITED' AND (SELECT count(*) FROM invitation i \
         WHERE i.membership_id = m.id AND i.accepted_at IS NULL AND i.revoked_at IS NULL) <> 1",
        [ws.clone()],
    )
    .await;
    assert_eq!(
        invited_without_invitation, 0,
        "every invited membership has exactly one waiting invitation"
    );
    let waiting_without_invited = number(
        app,
        "SELECT count(*) AS n FROM invitation i JOIN membership m ON m.id = i.membership_id \
         WHERE i.workspace_id = $1 AND i.accepted_at IS NULL AND i.revoked_at IS NULL \
         AND (m.deleted_at IS NOT NULL OR m.status <> 'INVITED')",
        [ws],
    )
    .await;
    assert_eq!(
        waiting_without_invited, 0,
        "a waiting invitation belongs to an invited, live membership"
    );

    assert_audit_entries_match_calls(app, calls).await;
}

/// Each applied call wrote its entries once, and a refused or failed call wrote none: counted by
/// the request id every call sent, which the entries of its own action keep.
async fn assert_audit_entries_match_calls(app: &TestApp, calls: &[Call]) {
    let rows = app
        .db()
        .query_all_raw(Statement::from_string(
            app.db().get_database_backend(),
            "SELECT request_id, action, count(*) AS n FROM audit_entry \
             WHERE request_id LIKE 'concurrency-%' GROUP BY request_id, action",
        ))
        .await
        .unwrap();
    let mut written: HashMap<(String, String), i64> = HashMap::new();
    for row in rows {
        let request: String = row.try_get("", "request_id").unwrap();
        let action: String = row.try_get("", "action").unwrap();
        written.insert((request, action), row.try_get("", "n").unwrap());
    }
    let mut wrong = Vec::new();
    for call in calls {
        let found = written
            .remove(&(call.request_id.clone(), call.op.action().to_owned()))
            .unwrap_or(0);
        let expected = match (call.applied(), call.expected_entries) {
            (false, _) => found == 0,
            (true, Some(count)) => found == count as i64,
            (true, None) => found <= 1,
        };
        if !expected {
            wrong.push(format!(
                "{:?} {} (applied: {}) wrote {found} `{}` entries",
                call.op,
                call.request_id,
                call.applied(),
                call.op.action()
            ));
        }
    }
    // What is left was written under a call's request id by an action that call doesn't take:
    // only an applied removal's or deactivation's consequences may be (the invitations its
    // people had sent, withdrawn; its jobs' ended sessions, revoked keys, campaigns given on).
    for ((request, action), count) in written {
        let call = calls.iter().find(|call| call.request_id == request);
        let side_effect = call.is_some_and(|call| {
            call.applied()
                && matches!(call.op, Op::Remove | Op::Deactivate)
                && matches!(
                    action.as_str(),
                    "invitation_revoke"
                        | "sessions_end"
                        | "api_key_revoke"
                        | "campaigns_reattribute"
                )
        });
        if !side_effect {
            wrong.push(format!("{request} also wrote {count} `{action}` entries"));
        }
    }
    assert!(
        wrong.is_empty(),
        "audit entries don't match the calls:\n{}",
        wrong.join("\n")
    );
}

/// The `n` a `SELECT count(*) AS n …` answers, its `$1`… bound to `values` (SQLite reads `$1`
/// as a parameter too; ids must be bound, as SQLite keeps them as blobs).
async fn number<const N: usize>(app: &TestApp, sql: &str, values: [sea_orm::Value; N]) -> i64 {
    app.db()
        .query_one_raw(Statement::from_sql_and_values(
            app.db().get_database_backend(),
            sql,
            values,
        ))
        .await
        .unwrap()
        .expect("a row")
        .try_get("", "n")
        .unwrap()
}

const INVITE: &str = "mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  member { id user { id email } } invitationToken userErrors { code } } }";
const ACCEPT: &str = "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) {
  token userErrors { code } } }";
const RESEND: &str = "mutation($input: ResendInvitationInput!) { resendInvitation(input: $input) {
  invitation { id } invitationToken userErrors { code } } }";
const REVOKE_INVITATION: &str = "mutation($input: InvitationActionInput!) {
  revokeInvitation(input: $input) { userErrors { code } } }";
const UPDATE_ROLE: &str = "mutation($input: UpdateMemberRoleInput!) {
  updateMemberRole(input: $input) { member { role } userErrors { code } } }";
const REMOVE: &str = "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) {
  removedMembers { userId } userErrors { code } } }";
const DEACTIVATE: &str = "mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
  member { status } userErrors { code } } }";
const REACTIVATE: &str = "mutation($input: ReactivateUserInput!) { reactivateUser(input: $input) {
  member { status } userErrors { code } } }";
const RESTORE: &str = "mutation($input: RestoreMemberInput!) { restoreMember(input: $input) {
  member { status } userErrors { code } } }";
const END_SESSIONS: &str = "mutation($input: EndSessionsInput!) { endSessions(input: $input) {
  userErrors { code } } }";
const REASSIGN: &str = "mutation($input: ReassignContactsInput!) {
  reassignContacts(input: $input) { moved { duty } userErrors { code } } }";
const TRANSFER: &str = "mutation($input: TransferOwnershipInput!) {
  transferOwnership(input: $input) { newOwner { role } userErrors { code } } }";
const CREATE_KEY: &str = "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  apiKey { id } userErrors { code } } }";
const REVOKE_KEY: &str = "mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) {
  userErrors { code } } }";
const SEAT_LIMIT: &str = "mutation($input: UpdateSeatLimitInput!) {
  updateSeatLimit(input: $input) { userErrors { code } } }";

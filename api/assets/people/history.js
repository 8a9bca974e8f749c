// What happened: the recently removed (with Undo while the restore window is open) and the
// audit log, filtered by action or by the person it was about.

import { gql, idempotent } from "./api.js";
import { announce, busy, errorBox, field, formatDate, h, replace, roleLabel } from "./ui.js";

const REMOVED = `query($ws: UUID!, $after: String) { removedMembers(workspaceId: $ws, first: 20, after: $after) {
  pageInfo { hasNextPage endCursor }
  nodes { user { id name email } role removedAt removedBy { name } reason restorableUntil canRestore } } }`;

export async function removedView(app) {
  const content = document.getElementById("content");
  const list = h("div");
  const more = h("div", { class: "pager" });
  const problems = h("div");
  const rows = h("tbody");
  replace(
    content,
    h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, "Recently removed")),
    h("p", { class: "hint" }, "Undo brings someone back with their role and groups, within 30 days of their removal."),
    problems,
    list,
    more,
  );
  const row = (former) => {
    const withKey = idempotent();
    const undo = h("button", { type: "button", "aria-label": `Undo the removal of ${former.user.name}`, disabled: !former.canRestore }, "Undo");
    undo.addEventListener("click", () => busy(undo, async () => {
      replace(problems);
      try {
        const { restoreMember } = await gql(
          `mutation($input: RestoreMemberInput!) { restoreMember(input: $input) { member { status } userErrors { code message } } }`,
          { input: withKey({ workspaceId: app.workspaceId, userId: former.user.id }) },
        );
        if (restoreMember.userErrors.length) {
          replace(problems, errorBox(restoreMember.userErrors.map((error) => error.message)));
          return;
        }
        announce(`${former.user.name} is back in the workspace.`);
        await load(null);
      } catch (error) {
        if (!app.fail(error)) replace(problems, errorBox(error.message));
      }
    }));
    return h(
      "tr",
      { "data-email": former.user.email },
      h("td", { class: "name" }, h("strong", {}, former.user.name), h("span", { class: "email" }, former.user.email)),
      h("td", { "data-label": "Role" }, roleLabel(former.role)),
      h("td", { "data-label": "Removed" }, `${formatDate(former.removedAt)}${former.removedBy ? ` by ${former.removedBy.name}` : ""}`),
      h("td", { "data-label": "Reason" }, former.reason || "—"),
      h(
        "td",
        { class: "actions" },
        h(
          "div",
          { class: "row-actions" },
          undo,
          h("span", { class: "hint" }, former.canRestore ? `until ${formatDate(former.restorableUntil)}` : "too late to undo"),
        ),
      ),
    );
  };
  /// The first page (`after` null), or the next one after it.
  const load = async (after) => {
    const { removedMembers } = await gql(REMOVED, { ws: app.workspaceId, after });
    if (!after) {
      replace(rows);
      replace(
        list,
        removedMembers.nodes.length === 0
          ? h("p", { class: "empty" }, "Nobody was removed recently.")
          : h(
              "table",
              { class: "people" },
              h("caption", { class: "visually-hidden" }, "People removed from the workspace"),
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  ["Name", "Role", "Removed", "Reason"].map((label) => h("th", { scope: "col" }, label)),
                  h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Undo")),
                ),
              ),
              rows,
            ),
      );
    }
    rows.append(...removedMembers.nodes.map(row));
    const next = h("button", { type: "button" }, "Show earlier removals");
    next.addEventListener("click", () => busy(next, async () => {
      try {
        await load(removedMembers.pageInfo.endCursor);
      } catch (error) {
        if (!app.fail(error)) replace(problems, errorBox(error.message));
      }
    }));
    replace(more, removedMembers.pageInfo.hasNextPage ? next : null);
  };
  await load(null);
}

const AUDIT = `query($ws: UUID!, $filter: AuditLogFilter, $after: String) {
  auditLog(workspaceId: $ws, filter: $filter, first: 25, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { action createdAt reason actor { name } actorApiKeyId target { name } } } }`;

const ACTIONS = [
  "team_membership_remove", "team_membership_deactivate", "team_membership_reactivate",
  "team_membership_restore", "team_membership_invite", "team_membership_join",
  "team_membership_role_change", "seat_limit_change", "api_key_create",
  "ownership_transfer", "contacts_reassign", "sessions_end", "api_key_revoke",
  "campaigns_reattribute", "invitation_revoke", "invitation_resend", "job_retry",
];

/// Whom an entry can be about: members, and people removed (what an audit is most often about).
const PEOPLE = `query($ws: UUID!) {
  members(workspaceId: $ws, first: 100) { nodes { user { id name } } }
  removedMembers(workspaceId: $ws, first: 100) { nodes { user { id name } } } }`;

export async function auditView(app) {
  const content = document.getElementById("content");
  const action = h("select", { name: "action" }, h("option", { value: "" }, "Any action"), ACTIONS.map((name) => h("option", { value: name }, name)));
  const target = h("select", { name: "target" }, h("option", { value: "" }, "Anyone"));
  const list = h("div");
  const more = h("div", { class: "pager" });
  const problems = h("div");
  replace(
    content,
    h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, "Audit log")),
    h("div", { class: "filters" }, field("Action", action), field("About", target)),
    problems,
    list,
    more,
  );
  const { members, removedMembers } = await gql(PEOPLE, { ws: app.workspaceId });
  for (const member of members.nodes) target.append(h("option", { value: member.user.id }, member.user.name));
  for (const former of removedMembers.nodes) target.append(h("option", { value: former.user.id }, `${former.user.name} (removed)`));

  const rows = h("tbody");
  let loading = 0;
  const load = async (after) => {
    // A page still coming for an earlier filter is dropped.
    const mine = ++loading;
    replace(problems);
    try {
      const filter = { action: action.value || null, targetUserId: target.value || null };
      const { auditLog } = await gql(AUDIT, { ws: app.workspaceId, filter, after });
      if (mine !== loading) return;
      if (!after) {
        replace(rows);
        replace(
          list,
          auditLog.nodes.length === 0
            ? h("p", { class: "empty" }, "No entries match.")
            : h(
                "table",
                { class: "audit" },
                h("caption", { class: "visually-hidden" }, "Audit log entries, newest first"),
                h("thead", {}, h("tr", {}, ["When", "Action", "By", "About", "Reason"].map((label) => h("th", { scope: "col" }, label)))),
                rows,
              ),
        );
      }
      for (const entry of auditLog.nodes) {
        rows.append(
          h(
            "tr",
            { "data-action": entry.action },
            h("td", { "data-label": "When" }, formatDate(entry.createdAt)),
            h("td", { "data-label": "Action" }, h("code", {}, entry.action)),
            h("td", { "data-label": "By" }, entry.actor?.name || (entry.actorApiKeyId ? "an API key" : "the system")),
            h("td", { "data-label": "About" }, entry.target ? entry.target.name : "—"),
            h("td", { "data-label": "Reason" }, entry.reason || ""),
          ),
        );
      }
      replace(
        more,
        auditLog.pageInfo.hasNextPage
          ? h("button", { type: "button", onclick: () => load(auditLog.pageInfo.endCursor) }, "Show older entries")
          : null,
      );
    } catch (error) {
      if (mine === loading && !app.fail(error)) replace(problems, errorBox(error.message));
    }
  };
  action.addEventListener("change", () => load(null));
  target.addEventListener("change", () => load(null));
  await load(null);
}

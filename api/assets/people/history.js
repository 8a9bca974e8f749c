// What happened: the recently removed (with Undo while the restore window is open) and the
// audit log, filtered by action or by the person it was about.

import { gql, idempotent } from "./api.js";
import { accepted, announce, busy, errorBox, field, formatDate, h, personPicker, replace, roleLabel } from "./ui.js";

/// A table that grows a page at a time, under `list` with its "more" button in `more`:
/// `load(null)` shows the first page (or `empty` when there is none), the button appends the next.
/// `fetch(after)` returns a connection (`nodes`, `pageInfo`); `row(node)` makes a row. A page
/// still coming when the first page is asked for again (a filter changed) is dropped; errors
/// show in `problems`. Returns `load`.
export function growingTable(app, { list, more, problems }, { table, caption, headers, empty, moreLabel, fetch, row }) {
  const rows = h("tbody");
  let loading = 0;
  const load = async (after) => {
    const mine = ++loading;
    replace(problems);
    try {
      const connection = await fetch(after);
      if (mine !== loading) return;
      if (!after) {
        replace(rows);
        replace(
          list,
          connection.nodes.length === 0
            ? h("p", { class: "empty" }, empty)
            : h(
                "table",
                { class: table },
                h("caption", { class: "visually-hidden" }, caption),
                h("thead", {}, h("tr", {}, headers.map((label) => h("th", { scope: "col" }, label)))),
                rows,
              ),
        );
      }
      rows.append(...connection.nodes.map(row));
      const next = h("button", { type: "button" }, moreLabel);
      next.addEventListener("click", () => busy(next, () => load(connection.pageInfo.endCursor)));
      replace(more, connection.pageInfo.hasNextPage ? next : null);
    } catch (error) {
      if (mine === loading && !app.fail(error)) replace(problems, errorBox(error.message));
    }
  };
  return load;
}

const REMOVED = `query($ws: UUID!, $after: String) { removedMembers(workspaceId: $ws, first: 20, after: $after) {
  pageInfo { hasNextPage endCursor }
  nodes { user { id name email } role removedAt removedBy { name } reason restorableUntil canRestore } } }`;

export async function removedView(app) {
  const content = document.getElementById("content");
  const list = h("div");
  const more = h("div", { class: "pager" });
  const problems = h("div");
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
        if (!accepted(restoreMember, problems)) return;
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
  const load = growingTable(app, { list, more, problems }, {
    table: "people",
    caption: "People removed from the workspace",
    headers: ["Name", "Role", "Removed", "Reason", h("span", { class: "visually-hidden" }, "Undo")],
    empty: "Nobody was removed recently.",
    moreLabel: "Show earlier removals",
    fetch: async (after) => (await gql(REMOVED, { ws: app.workspaceId, after })).removedMembers,
    row,
  });
  await load(null);
}

const AUDIT = `query($ws: UUID!, $filter: AuditLogFilter, $after: String) {
  auditLog(workspaceId: $ws, filter: $filter, first: 25, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { action createdAt reason actor { name } actorApiKeyId target { name } } } }`;

const ACTIONS = [
  "TEAM_MEMBERSHIP_REMOVE", "TEAM_MEMBERSHIP_DEACTIVATE", "TEAM_MEMBERSHIP_REACTIVATE",
  "TEAM_MEMBERSHIP_RESTORE", "TEAM_MEMBERSHIP_INVITE", "TEAM_MEMBERSHIP_JOIN",
  "TEAM_MEMBERSHIP_ROLE_CHANGE", "SEAT_LIMIT_CHANGE", "API_KEY_CREATE",
  "OWNERSHIP_TRANSFER", "CONTACTS_REASSIGN", "SESSIONS_END", "API_KEY_REVOKE",
  "CAMPAIGNS_REATTRIBUTE", "INVITATION_REVOKE", "INVITATION_RESEND", "JOB_RETRY",
];

/// Whom an entry can be about: members, and people removed (what an audit is most often about),
/// the first 100 of each, or the first 100 of each whose name or email matches a search.
const PEOPLE = `query($ws: UUID!, $search: String) {
  members(workspaceId: $ws, filter: { search: $search }, first: 100) { nodes { user { id name email } } }
  removedMembers(workspaceId: $ws, filter: { search: $search }, first: 100) { nodes { user { id name email } } } }`;

async function peopleAbout(app, search) {
  const { members, removedMembers } = await gql(PEOPLE, { ws: app.workspaceId, search });
  return [
    ...members.nodes.map((node) => ({ ...node.user, removed: false })),
    ...removedMembers.nodes.map((node) => ({ ...node.user, removed: true })),
  ];
}

export async function auditView(app) {
  const content = document.getElementById("content");
  const action = h("select", { name: "action" }, h("option", { value: "" }, "Any action"), ACTIONS.map((name) => h("option", { value: name }, name)));
  const list = h("div");
  const more = h("div", { class: "pager" });
  const problems = h("div");
  const about = personPicker(app, "About", {
    name: "target",
    find: (search) => peopleAbout(app, search),
    option: (person) => [person.id, `${person.name} (${person.email}${person.removed ? ", removed" : ""})`],
    placeholder: "Anyone",
    matches: ["person matches", "people match"],
    nobody: "Nobody matches",
  });
  const target = about.select;
  replace(
    content,
    h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, "Audit log")),
    h("div", { class: "filters with-picker" }, field("Action", action), about.element),
    problems,
    list,
    more,
  );

  const load = growingTable(app, { list, more, problems }, {
    table: "audit",
    caption: "Audit log entries, newest first",
    headers: ["When", "Action", "By", "About", "Reason"],
    empty: "No entries match.",
    moreLabel: "Show older entries",
    fetch: async (after) => {
      const filter = { action: action.value || null, targetUserId: target.value || null };
      return (await gql(AUDIT, { ws: app.workspaceId, filter, after })).auditLog;
    },
    row: (entry) =>
      h(
        "tr",
        { "data-action": entry.action },
        h("td", { "data-label": "When" }, formatDate(entry.createdAt)),
        h("td", { "data-label": "Action" }, h("code", {}, entry.action)),
        h("td", { "data-label": "By" }, entry.actor?.name || (entry.actorApiKeyId ? "an API key" : "the system")),
        h("td", { "data-label": "About" }, entry.target ? entry.target.name : "—"),
        h("td", { "data-label": "Reason" }, entry.reason || ""),
      ),
  });
  action.addEventListener("change", () => load(null));
  target.addEventListener("change", () => load(null));
  await load(null);
}

// What happened: the recently removed (with Undo while the restore window is open) and the
// audit log, filtered by action or by the person it was about.

import { gql, idempotent } from "./api.js";
import {
  accepted, act, busy, errorBox, field, formatDate, h, personPicker, replace, roleLabel, toast,
} from "./ui.js";

/// A table that grows a page at a time, under `list` with its "more" button in `more`:
/// `load(null)` shows the first page (or `empty` when there is none), the button appends the next.
/// `fetch(after)` returns a connection (`nodes`, `pageInfo`); `row(node)` makes a row. A page
/// still coming when the first page is asked for again (a filter changed) is dropped; errors
/// show in `problems`. Returns `load`.
function growingTable(app, { list, more, problems }, { table, caption, headers, empty, moreLabel, fetch, row }) {
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

/// A view of one table that grows a page at a time: its `title` (with what sits `beside` it),
/// a `hint`, its `filters`, then its problems, the table and its "more" button. Returns the
/// table's `load` (see `growingTable`) and where problems show.
export function tableView(app, { title, beside = null, hint = null, filters = null }, table) {
  const list = h("div");
  const more = h("div", { class: "pager" });
  const problems = h("div");
  replace(
    document.getElementById("content"),
    h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, title), beside),
    hint ? h("p", { class: "hint" }, hint) : null,
    filters,
    problems,
    list,
    more,
  );
  return { load: growingTable(app, { list, more, problems }, table), problems };
}

const REMOVED = `query($ws: UUID!, $after: String) { removedMembers(workspaceId: $ws, first: 20, after: $after) {
  pageInfo { hasNextPage endCursor }
  nodes { user { id name email } role removedAt removedBy { name } reason restorableUntil canRestore } } }`;

export async function removedView(app) {
  const row = (former) => {
    const withKey = idempotent();
    const undo = h("button", { type: "button", "aria-label": `Undo the removal of ${former.user.name}`, disabled: !former.canRestore }, "Undo");
    undo.addEventListener("click", () => act(app, undo, problems, async () => {
      const { restoreMember } = await gql(
        `mutation($input: RestoreMemberInput!) { restoreMember(input: $input) { member { status } userErrors { code message } } }`,
        { input: withKey({ workspaceId: app.workspaceId, userId: former.user.id }) },
      );
      if (!accepted(restoreMember, problems)) return;
      toast(`${former.user.name} is back in the workspace.`);
      await load(null);
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
  const { load, problems } = tableView(app, {
    title: "Recently removed",
    hint: "Undo brings someone back with their role and groups, within 30 days of their removal.",
  }, {
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

const AUDIT = `query($ws: UUID!, $filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { id action summary createdAt reason requestId offboardingId metadata
      actor { name email } actorApiKeyId actorScimToken { name } target { name email } } } }`;

const SIDE_EFFECTS = `query($id: UUID!) { offboarding(id: $id) { status jobs(first: 100) { kind status attempts lastError } } }`;

/// Each action, as the filter offers it.
const ACTIONS = {
  TEAM_MEMBERSHIP_REMOVE: "Removed", TEAM_MEMBERSHIP_DEACTIVATE: "Deactivated",
  TEAM_MEMBERSHIP_REACTIVATE: "Reactivated", TEAM_MEMBERSHIP_RESTORE: "Restored",
  TEAM_MEMBERSHIP_INVITE: "Invited", TEAM_MEMBERSHIP_JOIN: "Joined",
  TEAM_MEMBERSHIP_ROLE_CHANGE: "Role changed", TEAM_MEMBERSHIP_PROVISION: "Added by the identity provider",
  IDP_REMOVAL_WAIT: "Removal by the identity provider waiting", PERSON_UPDATE: "Updated by the identity provider",
  INVITATION_RESEND: "Invitation resent", INVITATION_REVOKE: "Invitation revoked",
  OWNERSHIP_TRANSFER: "Ownership transferred", CONTACTS_REASSIGN: "Contact duties handed over",
  SESSIONS_END: "Sessions ended", API_KEY_CREATE: "API key created", API_KEY_REVOKE: "API key revoked",
  CAMPAIGNS_REATTRIBUTE: "Campaigns reattributed", SEAT_LIMIT_CHANGE: "Seat limit changed",
  JOB_RETRY: "Side effect retried", WORKSPACE_CREATE: "Workspace made", WORKSPACE_RENAME: "Workspace renamed",
  SCIM_TOKEN_CREATE: "SCIM token made", SCIM_TOKEN_REVOKE: "SCIM token revoked",
  GROUP_CREATE: "Group made", GROUP_RENAME: "Group renamed", GROUP_DELETE: "Group deleted",
  GROUP_MEMBERS_CHANGE: "Group members changed",
};

/// An entry's details, one click away: what was recorded, and the state of the side effects of
/// the offboarding it belongs to, read when opened.
function details(app, entry) {
  const effects = h("div");
  const recorded = Object.entries(entry.metadata || {}).filter(([, value]) => value !== null && value !== "");
  const shown = h(
    "details",
    { class: "entry-details" },
    h("summary", {}, "Details"),
    h(
      "dl",
      {},
      entry.requestId ? [h("dt", {}, "Request"), h("dd", {}, entry.requestId)] : null,
      recorded.map(([key, value]) => [h("dt", {}, key.replaceAll("_", " ")), h("dd", {}, typeof value === "string" ? value : JSON.stringify(value))]),
    ),
    effects,
  );
  if (entry.offboardingId) {
    shown.addEventListener("toggle", async () => {
      if (!shown.open || effects.dataset.read) return;
      effects.dataset.read = "true";
      try {
        const { offboarding } = await gql(SIDE_EFFECTS, { id: entry.offboardingId });
        replace(
          effects,
          h("p", {}, `Side effects: ${offboarding.status.toLowerCase().replace("_", " ")}`),
          h("ul", { class: "side-effects" }, offboarding.jobs.map((job) => h("li", { "data-kind": job.kind }, `${job.kind.toLowerCase().replaceAll("_", " ")}: ${job.status.toLowerCase()}${job.lastError ? ` (${job.lastError})` : ""}`))),
        );
      } catch (error) {
        if (!app.fail(error)) replace(effects, errorBox(error.message));
      }
    });
  }
  return shown;
}

/// The entries as CSV, quoted where needed, with a header row.
function csv(entries) {
  const cell = (value) => {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  const rows = entries.map((entry) => [
    entry.createdAt, entry.action, entry.summary, entry.actor?.email || (entry.actorApiKeyId ? "API key" : entry.actorScimToken?.name || "system"),
    entry.target?.email, entry.reason, entry.requestId,
  ]);
  return [["when", "action", "summary", "by", "about", "reason", "request id"], ...rows].map((row) => row.map(cell).join(",")).join("\r\n");
}

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
  const action = h(
    "select",
    { name: "action" },
    h("option", { value: "" }, "Any action"),
    Object.entries(ACTIONS).map(([value, label]) => h("option", { value }, label)),
  );
  const from = h("input", { type: "date", name: "from" });
  const to = h("input", { type: "date", name: "to" });
  const exportButton = h("button", { type: "button" }, "Export CSV");
  const about = personPicker(app, "About", {
    name: "target",
    find: (search) => peopleAbout(app, search),
    option: (person) => [person.id, `${person.name} (${person.email}${person.removed ? ", removed" : ""})`],
    placeholder: "Anyone",
    matches: ["person matches", "people match"],
    nobody: "Nobody matches",
  });
  const target = about.select;

  // The days chosen, in this browser's time zone: from the start of "From" to the end of "To".
  const filter = () => {
    const day = (input, next) => {
      if (!input.value) return null;
      const start = new Date(`${input.value}T00:00`);
      if (next) start.setDate(start.getDate() + 1);
      return start.toISOString();
    };
    return { action: action.value || null, targetUserId: target.value || null, since: day(from, false), until: day(to, true) };
  };
  const { load, problems } = tableView(app, {
    title: "Audit log",
    beside: exportButton,
    filters: h("div", { class: "filters with-picker" }, field("Action", action), field("From", from), field("To", to), about.element),
  }, {
    table: "audit",
    caption: "Audit log entries, newest first",
    headers: ["When", "What happened", "About", "Details"],
    empty: "No entries match.",
    moreLabel: "Show older entries",
    fetch: async (after) => (await gql(AUDIT, { ws: app.workspaceId, filter: filter(), first: 25, after })).auditLog,
    row: (entry) =>
      h(
        "tr",
        { "data-action": entry.action },
        h("td", { "data-label": "When" }, formatDate(entry.createdAt)),
        h("td", { "data-label": "What happened", class: "summary" }, entry.summary),
        h("td", { "data-label": "About" }, entry.target ? entry.target.name : "—"),
        h("td", { "data-label": "Details" }, details(app, entry)),
      ),
  });
  // Every entry the filters keep, a hundred a request, as one CSV file.
  exportButton.addEventListener("click", () => act(app, exportButton, problems, async () => {
    const entries = [];
    let after = null;
    do {
      const { auditLog } = await gql(AUDIT, { ws: app.workspaceId, filter: filter(), first: 100, after });
      entries.push(...auditLog.nodes);
      after = auditLog.pageInfo.hasNextPage ? auditLog.pageInfo.endCursor : null;
    } while (after);
    const link = h("a", { href: URL.createObjectURL(new Blob([csv(entries)], { type: "text/csv" })), download: "audit-log.csv" });
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    toast(`${entries.length === 1 ? "1 entry" : `${entries.length} entries`} exported.`);
  }));
  for (const control of [action, target, from, to]) control.addEventListener("change", () => load(null));
  await load(null);
}

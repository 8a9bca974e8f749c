// A member's page: who they are here (role, status, groups), what they hold (contact duties,
// campaigns, API keys they created, each revocable), their open sessions (ended all at once),
// and what was done to them; and the workspace's API keys, with whether each key's creator is
// still an active member.

import { gql, idempotent } from "./api.js";
import {
  accepted, act, formatDate, h, openConfirm, plural, replace, roleLabel, statusBadge, toast,
} from "./ui.js";
import { tableView } from "./history.js";

const DETAIL = `query($ws: UUID!, $u: UUID!) {
  member(workspaceId: $ws, userId: $u) {
    member { role status user { id name email } groups { name } }
    contactDuties { duty applicationName }
    apiKeys { id name prefix role createdAt revokedAt }
    campaignsOwned { totalCount }
    statusHistory { id summary createdAt } }
  sessions(workspaceId: $ws, userId: $u, first: 50) {
    totalCount nodes { id createdAt lastSeenAt userAgent current } } }`;

const KEYS = `query($ws: UUID!, $revoked: Boolean, $after: String) {
  apiKeys(workspaceId: $ws, filter: { revoked: $revoked }, first: 20, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes { apiKey { id name prefix role createdAt } creator { name email } creatorIsActiveMember lastUsedAt } } }`;

const DUTIES = {
  ADMINISTRATIVE_CONTACT: "Administrative contact of the workspace",
  TECHNICAL_CONTACT: "Technical contact of the workspace",
  APPLICATION_TECHNICAL_CONTACT: "Technical contact of an application",
};

/// Asks to revoke `key`, then `done()`: its requests are refused from the commit on.
function openRevokeKey(app, key, done) {
  openConfirm(app, `Revoke the API key ${key.name}?`, {
    sentence: `Every request with ${key.prefix}… is refused from now on. This can't be undone: create a new key if it is needed again.`,
    label: "Revoke key",
    change: async (withKey) => (await gql(
      `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { revokedAt } userErrors { code message } } }`,
      { input: withKey({ apiKeyId: key.id, reason: "revoked from the People page" }) },
    )).revokeApiKey,
    done,
    toastText: `The API key ${key.name} is revoked.`,
  });
}

export async function memberView(app, userId) {
  const content = document.getElementById("content");
  const problems = h("div");
  replace(content, h("p", { class: "loading" }, "Loading…"), problems);
  const { member: detail, sessions } = await gql(DETAIL, { ws: app.workspaceId, u: userId });
  const { member } = detail;
  const reload = () => memberView(app, userId);
  // Ends one session (`session`) or all of them (none given), from `button`.
  const end = (session, button) => act(app, button, problems, async () => {
    const { endSessions } = await gql(
      `mutation($input: EndSessionsInput!) { endSessions(input: $input) { sessionsEnded userErrors { code message } } }`,
      { input: idempotent()({ workspaceId: app.workspaceId, userId, sessionId: session?.id ?? null }) },
    );
    if (!accepted(endSessions, problems)) return;
    await reload();
    toast(session
      ? `A session of ${member.user.name} ended.`
      : `${plural(endSessions.sessionsEnded, "session", "sessions")} of ${member.user.name} ended.`);
  });
  const endAll = h("button", { type: "button", class: "danger", disabled: sessions.totalCount === 0 }, "End all sessions");
  endAll.addEventListener("click", () => end(null, endAll));
  const section = (title, ...children) => h("section", { class: "card", "aria-label": title }, h("h2", {}, title), children);
  const keys = detail.apiKeys.filter((key) => !key.revokedAt);
  replace(
    content,
    h("p", {}, h("a", { href: "#people" }, "← People")),
    h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, member.user.name), statusBadge(member.status)),
    h("p", { class: "email" }, member.user.email),
    problems,
    section(
      "In this workspace",
      h("dl", { class: "facts-list" },
        h("dt", {}, "Role"), h("dd", {}, roleLabel(member.role)),
        h("dt", {}, "Groups"), h("dd", {}, member.groups.map((group) => group.name).join(", ") || "None"),
        h("dt", {}, "Contact duties"), h("dd", {}, detail.contactDuties.map((duty) => duty.applicationName ? `${DUTIES[duty.duty]} (${duty.applicationName})` : DUTIES[duty.duty]).join("; ") || "None"),
        h("dt", {}, "Campaigns they own"), h("dd", {}, String(detail.campaignsOwned.totalCount)),
      ),
    ),
    section(
      `Open sessions (${sessions.totalCount})`,
      sessions.nodes.length
        ? h("ul", { class: "sessions" }, sessions.nodes.map((session) => h(
            "li",
            {},
            `Signed in ${formatDate(session.createdAt)}, last seen ${session.lastSeenAt ? formatDate(session.lastSeenAt) : "never"}${session.userAgent ? ` — ${session.userAgent}` : ""}${session.current ? " (this one)" : ""} `,
            h("button", { type: "button", "aria-label": `End the session signed in ${formatDate(session.createdAt)}${session.userAgent ? ` from ${session.userAgent}` : ""}`, onclick: (event) => end(session, event.target) }, "End"),
          )))
        : h("p", { class: "empty" }, "No open sessions."),
      endAll,
    ),
    section(
      `API keys they created (${keys.length})`,
      keys.length
        ? h("ul", { class: "keys" }, keys.map((key) => h(
            "li",
            { "data-key": key.name },
            `${key.name} (${key.prefix}…, acts as ${roleLabel(key.role)}) `,
            h("button", { type: "button", class: "danger", "aria-label": `Revoke the API key ${key.name}`, onclick: () => openRevokeKey(app, key, reload) }, "Revoke"),
          )))
        : h("p", { class: "empty" }, "None."),
    ),
    section(
      "History",
      detail.statusHistory.length
        ? h("ol", { class: "history" }, detail.statusHistory.map((entry) => h("li", {}, `${formatDate(entry.createdAt)}: ${entry.summary}`)))
        : h("p", { class: "empty" }, "Nothing yet."),
    ),
  );
}

export async function apiKeysView(app) {
  const { load } = tableView(app, {
    title: "API keys",
    hint: "A key acts with its own role. One whose creator is no longer an active member keeps acting until it is revoked.",
  }, {
    table: "keys",
    caption: "API keys in use, newest first",
    headers: ["Name", "Acts as", "Created by", "Last used", "Actions"],
    empty: "No API keys in use.",
    moreLabel: "More keys",
    fetch: async (after) => (await gql(KEYS, { ws: app.workspaceId, revoked: false, after })).apiKeys,
    row: ({ apiKey, creator, creatorIsActiveMember, lastUsedAt }) => h(
      "tr",
      { "data-key": apiKey.name, "data-orphaned": String(!creatorIsActiveMember) },
      h("td", { class: "name" }, h("strong", {}, apiKey.name), h("span", { class: "email" }, `${apiKey.prefix}…`)),
      h("td", { "data-label": "Acts as" }, roleLabel(apiKey.role)),
      h("td", { "data-label": "Created by" }, creator.name, creatorIsActiveMember ? null : h("span", { class: "badge badge-deactivated" }, "no longer an active member")),
      h("td", { "data-label": "Last used" }, lastUsedAt ? formatDate(lastUsedAt) : "Never"),
      h("td", { class: "actions" }, h("button", { type: "button", class: "danger", "aria-label": `Revoke the API key ${apiKey.name}`, onclick: () => openRevokeKey(app, apiKey, () => load(null)) }, "Revoke")),
    ),
  });
  await load(null);
}

// Invitations: inviting people (one or many emails at once, with a role, the seats in view),
// and the workspace's open invitations, pending and expired, with who sent each and when, to
// resend or revoke.

import { gql, idempotent } from "./api.js";
import {
  accepted, act, busy, errorBox, field, formatDate, h, openConfirm, openDialog, plural, replace, roleLabel, toast,
} from "./ui.js";
import { tableView } from "./history.js";

const SEATS = `query($org: UUID!) { seatUsage(organizationId: $org) { used limit available } }`;

const INVITATIONS = `query($ws: UUID!, $statuses: [InvitationStatus!], $after: String) {
  invitations(workspaceId: $ws, filter: { statuses: $statuses }, first: 20, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { status invitedBy { name email } invitation { id email role createdAt expiresAt } } } }`;

const STATUS_LABELS = { PENDING: "Pending", EXPIRED: "Expired" };

/// "12 of 25 seats used, 13 left", or without a limit "12 seats used (no limit)".
export function seatsSentence({ used, limit, available }) {
  return limit === null
    ? `${plural(used, "seat", "seats")} used (no limit)`
    : `${used} of ${limit} seats used, ${available} left`;
}

/// The emails in what was typed: separated by commas, semicolons, spaces or lines.
function emailsIn(text) {
  return [...new Set(text.split(/[\s,;]+/).map((email) => email.trim()).filter(Boolean))];
}

/// Invites each email with one role, in one request (an alias per person): each is answered on
/// its own, invited or refused with the API's reason (a full organization says so). `done()`
/// redraws what lists them.
export function openInvite(app, done) {
  const emails = h("textarea", { name: "emails", rows: 3, required: true, autocomplete: "off", maxlength: 10000 });
  openDialog("Invite people", (close) => {
    const seats = h("p", { class: "seats", "aria-live": "polite" }, "Counting seats…");
    gql(SEATS, { org: app.organizationId })
      .then(({ seatUsage }) => {
        replace(seats, seatsSentence(seatUsage));
        seats.dataset.counted = "true";
      })
      .catch((error) => (app.fail(error) ? close() : replace(seats, errorBox(error.message))));
    // The workspace's groups, each a box to tick: the people invited join those ticked.
    const groups = h("fieldset", { class: "groups" }, h("legend", {}, "Groups (optional)"));
    gql(`query($ws: UUID!) { groups(workspaceId: $ws) { id name } }`, { ws: app.workspaceId })
      .then((answer) => groups.append(...answer.groups.map((group) => h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name: "groupIds", value: group.id }),
        group.name,
      ))))
      .catch((error) => (app.fail(error) ? close() : replace(groups, errorBox(error.message))));
    const keys = new Map();
    const problems = h("div");
    const results = h("ul", { class: "results" });
    const role = h(
      "select",
      { name: "role" },
      h("option", { value: "MEMBER" }, "Member"),
      h("option", { value: "ADMIN" }, "Admin"),
      h("option", { value: "GUEST" }, "Guest"),
    );
    const confirm = h("button", { type: "submit", class: "primary" }, "Send invitations");
    return h(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          busy(confirm, async () => {
            replace(problems);
            const list = emailsIn(emails.value);
            if (list.length === 0) {
              replace(problems, errorBox("Enter at least one email address."));
              return;
            }
            const inputs = list.map((email) => {
              if (!keys.has(email)) keys.set(email, idempotent());
              const groupIds = [...groups.querySelectorAll("input:checked")].map((box) => box.value);
              return keys.get(email)({ workspaceId: app.workspaceId, email, role: role.value, groupIds });
            });
            const declared = inputs.map((_, i) => `$i${i}: InviteMemberInput!`).join(", ");
            const calls = inputs.map((_, i) => `i${i}: inviteMember(input: $i${i}) { member { id } userErrors { code message } }`).join(" ");
            try {
              const answer = await gql(`mutation(${declared}) { ${calls} }`, Object.fromEntries(inputs.map((input, i) => [`i${i}`, input])));
              const outcomes = list.map((email, i) => ({ email, errors: answer[`i${i}`].userErrors }));
              const invited = outcomes.filter((outcome) => outcome.errors.length === 0);
              const refused = outcomes.filter((outcome) => outcome.errors.length > 0);
              await done();
              if (refused.length === 0) {
                close();
                toast(invited.length === 1 ? `${invited[0].email} is invited.` : `${invited.length} people are invited.`);
                return;
              }
              // Those refused stay in the box, to fix and send again; the others are done.
              emails.value = refused.map((outcome) => outcome.email).join("\n");
              replace(
                results,
                invited.map((outcome) => h("li", {}, `${outcome.email}: invited.`)),
                refused.map((outcome) => h("li", { class: "refused" }, `${outcome.email}: ${outcome.errors.map((error) => error.message).join(" ")}`)),
              );
              const { seatUsage } = await gql(SEATS, { org: app.organizationId });
              replace(seats, seatsSentence(seatUsage));
            } catch (error) {
              if (app.fail(error)) close();
              else replace(problems, errorBox(error.message));
            }
          });
        },
      },
      h("p", {}, "Each person gets an email with a link to join, and takes a seat until their invitation is accepted, revoked or expires."),
      seats,
      field("Emails", emails, "One or more addresses, separated by commas or on separate lines."),
      field("Role", role),
      groups,
      results,
      problems,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), confirm),
    );
  });
  emails.focus();
}

export async function invitationsView(app) {
  const seats = h("p", { class: "seats", "aria-live": "polite" });
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "Pending and expired"),
    h("option", { value: "PENDING" }, "Pending"),
    h("option", { value: "EXPIRED" }, "Expired"),
  );
  const invite = h("button", { type: "button", class: "primary" }, "Invite people");
  const refreshSeats = async () => {
    const { seatUsage } = await gql(SEATS, { org: app.organizationId });
    replace(seats, seatsSentence(seatUsage));
  };
  const { load, problems } = tableView(app, {
    title: "Invitations",
    beside: [seats, invite],
    hint: "A pending invitation holds a seat; an expired one holds none until it is resent.",
    filters: h("div", { class: "filters" }, field("Status", status)),
  }, {
    table: "invitations",
    caption: "Open invitations",
    headers: ["Email", "Role", "Status", "Invited by", "Sent", "Expires", "Actions"],
    empty: "No open invitations.",
    moreLabel: "More invitations",
    fetch: async (after) => {
      const statuses = status.value ? [status.value] : ["PENDING", "EXPIRED"];
      return (await gql(INVITATIONS, { ws: app.workspaceId, statuses, after })).invitations;
    },
    row: ({ status: state, invitedBy, invitation }) => h(
      "tr",
      { "data-email": invitation.email, "data-status": state },
      h("td", { class: "name" }, invitation.email),
      h("td", { "data-label": "Role" }, roleLabel(invitation.role)),
      h("td", { "data-label": "Status" }, h("span", { class: `badge badge-${state.toLowerCase()}` }, STATUS_LABELS[state] || state)),
      h("td", { "data-label": "Invited by" }, invitedBy ? invitedBy.name : "—"),
      h("td", { "data-label": "Sent" }, formatDate(invitation.createdAt)),
      h("td", { "data-label": "Expires" }, formatDate(invitation.expiresAt)),
      h(
        "td",
        { class: "actions" },
        h(
          "div",
          { class: "row-actions" },
          h("button", { type: "button", "aria-label": `Resend the invitation of ${invitation.email}`, onclick: (event) => resend(invitation, event.target) }, "Resend"),
          h("button", { type: "button", class: "danger", "aria-label": `Revoke the invitation of ${invitation.email}`, onclick: () => openRevoke(invitation) }, "Revoke"),
        ),
      ),
    ),
  });
  const reload = () => Promise.all([load(null), refreshSeats()]);

  const resend = (invitation, button) => act(app, button, problems, async () => {
    const { resendInvitation } = await gql(
      `mutation($input: ResendInvitationInput!) { resendInvitation(input: $input) { invitation { id } userErrors { code message } } }`,
      { input: idempotent()({ invitationId: invitation.id }) },
    );
    if (!accepted(resendInvitation, problems)) return;
    await reload();
    toast(`A new invitation was sent to ${invitation.email}.`);
  });

  const openRevoke = (invitation) => openConfirm(app, `Revoke the invitation of ${invitation.email}?`, {
    sentence: "Its link stops working at once, and the seat it holds is freed. You can invite them again later.",
    label: "Revoke invitation",
    change: async (withKey) => (await gql(
      `mutation($input: InvitationActionInput!) { revokeInvitation(input: $input) { invitation { id } userErrors { code message } } }`,
      { input: withKey({ invitationId: invitation.id }) },
    )).revokeInvitation,
    done: reload,
    toastText: `The invitation of ${invitation.email} is revoked.`,
  });

  status.addEventListener("change", () => load(null));
  invite.addEventListener("click", () => openInvite(app, reload));
  await reload();
}

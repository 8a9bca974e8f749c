// The People list: members with their role, status and groups, searched as you type, filtered
// by status (or with the deactivated hidden), a page at a time, with the organization's seat
// usage; and the actions on them: remove (one or several), deactivate, reactivate, transfer
// ownership. Someone alone in their workspace is shown the next step: inviting people.

import { gql, idempotent } from "./api.js";
import {
  accepted, act, announce, debounce, errorBox, field, h, openDialog, replace, roleLabel, statusBadge, toast,
} from "./ui.js";
import { openDeactivation, openRemoval, openStatusChange } from "./removal.js";
import { openInvite, seatsSentence } from "./invitations.js";

const PAGE_SIZE = 20;

const MEMBERS = `query($ws: UUID!, $filter: MemberFilterInput, $first: Int, $after: String) {
  members(workspaceId: $ws, filter: $filter, first: $first, after: $after) {
    totalCount totalCountIsExact
    pageInfo { hasNextPage endCursor }
    nodes { id role status user { id name email } groups { id name } } } }`;

const SEATS = `query($org: UUID!) { seatUsage(organizationId: $org) { used limit available } }`;

const ROLES = ["OWNER", "ADMIN", "MEMBER", "GUEST"];

export async function peopleView(app) {
  const content = document.getElementById("content");
  const manage = app.can("USER_MANAGEMENT");
  const state = { search: "", status: "", hideDeactivated: false, cursors: [null], page: 0, selected: new Map() };

  const seats = h("p", { class: "seats", "aria-live": "polite" });
  const search = h("input", { type: "search", name: "search", placeholder: "Name or email", autocomplete: "off" });
  const status = h(
    "select",
    { name: "status" },
    h("option", { value: "" }, "All statuses"),
    h("option", { value: "ACTIVE" }, "Active"),
    h("option", { value: "INVITED" }, "Invited"),
    h("option", { value: "DEACTIVATED" }, "Deactivated"),
  );
  const hide = h("input", { type: "checkbox", name: "hideDeactivated", id: "hide-deactivated" });
  const removeSelected = h("button", { type: "button", class: "danger", disabled: true }, "Remove selected");
  const selectAll = h("button", { type: "button", hidden: true }, "Select all that match");
  const list = h("div", { class: "list", "aria-busy": "true" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const nextStep = h("div");
  const problems = h("div");
  const invite = h("button", { type: "button", class: "primary", onclick: () => openInvite(app, reload) }, "Invite people");

  replace(
    content,
    h("div", { class: "title-row" }, h("h1", { tabindex: "-1" }, "People"), seats, manage ? invite : null),
    h(
      "div",
      { class: "filters", role: "search" },
      field("Search", search),
      field("Status", status),
      h("div", { class: "check" }, hide, h("label", { for: "hide-deactivated" }, "Hide deactivated")),
      manage ? [selectAll, removeSelected] : null,
    ),
    problems,
    list,
    pager,
    nextStep,
  );

  // Seat usage is the organization's business: shown to those who manage members.
  const refreshSeats = async () => {
    if (!manage) return;
    const { seatUsage } = await gql(SEATS, { org: app.organizationId });
    seats.textContent = seatsSentence(seatUsage);
  };

  const filter = () => {
    const statuses = state.status
      ? [state.status]
      : state.hideDeactivated ? ["ACTIVE", "INVITED"] : null;
    return { search: state.search || null, statuses };
  };

  const updateSelection = () => {
    removeSelected.disabled = state.selected.size === 0;
    removeSelected.textContent = state.selected.size > 1
      ? `Remove ${state.selected.size.toLocaleString("en")} selected`
      : "Remove selected";
  };

  let loading = 0;
  const load = async () => {
    const mine = ++loading;
    list.setAttribute("aria-busy", "true");
    // One page at a time: the pager waits for the page it asked for.
    for (const button of pager.querySelectorAll("button")) button.disabled = true;
    replace(problems);
    try {
      const [{ members }] = await Promise.all([
        gql(MEMBERS, { ws: app.workspaceId, filter: filter(), first: PAGE_SIZE, after: state.cursors[state.page] }),
        refreshSeats(),
      ]);
      if (mine !== loading) return;
      render(members);
    } catch (error) {
      if (mine === loading && !app.fail(error)) replace(problems, errorBox(error.message));
    } finally {
      if (mine === loading) list.setAttribute("aria-busy", "false");
    }
  };

  const reload = () => {
    state.selected.clear();
    updateSelection();
    return load();
  };

  const render = (members) => {
    if (members.nodes.length === 0) {
      replace(list, h("p", { class: "empty" }, state.search ? `Nobody matches “${state.search}”.` : "Nobody here with these filters."));
    } else {
      replace(
        list,
        h(
          "table",
          { class: "people" },
          h("caption", { class: "visually-hidden" }, "Members of the workspace"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              manage ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Select")) : null,
              h("th", { scope: "col" }, "Name"),
              h("th", { scope: "col" }, "Role"),
              h("th", { scope: "col" }, "Status"),
              h("th", { scope: "col" }, "Groups"),
              manage ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null,
            ),
          ),
          h("tbody", {}, members.nodes.map((member) => row(member))),
        ),
      );
    }
    const first = state.page * PAGE_SIZE + 1;
    const last = state.page * PAGE_SIZE + members.nodes.length;
    const total = `${members.totalCount}${members.totalCountIsExact ? "" : "+"}`;
    state.cursors[state.page + 1] = members.pageInfo.endCursor;
    replace(
      pager,
      h("button", { type: "button", disabled: state.page === 0, onclick: () => turn(-1) }, "Previous"),
      h("span", {}, members.nodes.length ? `${first}–${last} of ${total}` : `0 of ${total}`),
      h("button", { type: "button", disabled: !members.pageInfo.hasNextPage, onclick: () => turn(1) }, "Next"),
    );
    // The workspace's only member is the viewer, with nothing filtered out: the next step.
    const alone = manage && !state.search && !state.status && !state.hideDeactivated && state.page === 0
      && members.totalCount === 1 && members.nodes.length === 1 && members.nodes[0].user.id === app.userId;
    replace(nextStep, alone ? firstDay() : null);
    // More match than the page shows: all of them can be selected at once.
    const matching = members.totalCountIsExact ? members.totalCount.toLocaleString("en") : "";
    selectAll.hidden = !(manage && (members.pageInfo.hasNextPage || state.page > 0));
    selectAll.textContent = matching ? `Select all ${matching} that match` : "Select all that match";
    announce(`${members.totalCount} people`);
  };

  const firstDay = () => h(
    "section",
    { id: "next-step", class: "card next-step", "aria-labelledby": "next-step-title" },
    h("h2", { id: "next-step-title" }, "You're the only one here"),
    h("p", {}, "People you invite join this workspace and each take a seat."),
    h("button", { type: "button", class: "primary", id: "invite-people", onclick: () => openInvite(app, reload) }, "Invite people"),
  );

  /// To the next or the previous page, if its cursor is known.
  const turn = (by) => {
    const page = state.page + by;
    if (page < 0 || (page > 0 && !state.cursors[page])) return;
    state.page = page;
    reload();
  };

  const row = (member) => {
    const self = member.user.id === app.userId;
    const select = h("input", {
      type: "checkbox",
      "aria-label": `Select ${member.user.name}`,
      checked: state.selected.has(member.user.id),
      disabled: self,
      onchange: (event) => {
        if (event.target.checked) state.selected.set(member.user.id, member);
        else state.selected.delete(member.user.id);
        updateSelection();
      },
    });
    return h(
      "tr",
      { "data-email": member.user.email },
      manage ? h("td", { class: "select" }, select) : null,
      h(
        "td",
        { class: "name" },
        h("strong", {}, manage ? h("a", { href: `#member/${member.user.id}` }, member.user.name) : member.user.name),
        h("span", { class: "email" }, member.user.email),
      ),
      h("td", { "data-label": "Role" }, roleLabel(member.role)),
      h("td", { "data-label": "Status" }, statusBadge(member.status)),
      h("td", { "data-label": "Groups" }, member.groups.map((group) => group.name).join(", ") || "—"),
      manage ? h("td", { class: "actions" }, self ? null : h("div", { class: "row-actions" }, actions(member))) : null,
    );
  };

  const actions = (member) => {
    const name = member.user.name;
    const buttons = [
      h("button", { type: "button", class: "danger", "aria-label": `Remove ${name}`, onclick: () => openRemoval(app, [member], reload) }, "Remove"),
    ];
    if (member.status !== "INVITED") {
      buttons.push(h("button", { type: "button", "aria-label": `Change the role of ${name}`, onclick: () => openRoleChange(app, member, reload) }, "Change role"));
    }
    if (member.status === "ACTIVE") {
      buttons.push(h("button", { type: "button", "aria-label": `Deactivate ${name}`, onclick: () => openDeactivation(app, member, reload) }, "Deactivate"));
    }
    if (member.status === "DEACTIVATED") {
      buttons.push(h("button", { type: "button", "aria-label": `Reactivate ${name}`, onclick: () => openReactivation(app, member, reload) }, "Reactivate"));
    }
    if (member.status === "ACTIVE" && app.viewer.role === "OWNER" && member.role !== "OWNER") {
      buttons.push(h("button", { type: "button", "aria-label": `Transfer ownership to ${name}`, onclick: () => openTransfer(app, member, reload) }, "Make owner"));
    }
    return buttons;
  };

  search.addEventListener("input", debounce(() => {
    state.search = search.value.trim();
    state.page = 0;
    reload();
  }, 250));
  // The two can't contradict each other: showing only the deactivated turns "hide deactivated"
  // off, and hiding them takes "Deactivated" out of the statuses to pick.
  const deactivatedOption = status.querySelector('option[value="DEACTIVATED"]');
  status.addEventListener("change", () => {
    state.status = status.value;
    hide.disabled = state.status === "DEACTIVATED";
    if (hide.disabled) hide.checked = state.hideDeactivated = false;
    state.page = 0;
    reload();
  });
  hide.addEventListener("change", () => {
    state.hideDeactivated = hide.checked;
    deactivatedOption.disabled = hide.checked;
    state.page = 0;
    reload();
  });
  removeSelected.addEventListener("click", () => openRemoval(app, [...state.selected.values()], reload));
  selectAll.addEventListener("click", () => act(app, selectAll, problems, async () => {
    const { matchingMembers } = await gql(
      `query($ws: UUID!, $filter: MemberFilterInput) { matchingMembers(workspaceId: $ws, filter: $filter) { userIds more } }`,
      { ws: app.workspaceId, filter: filter() },
    );
    for (const id of matchingMembers.userIds) {
      if (id !== app.userId && !state.selected.has(id)) state.selected.set(id, { user: { id, name: "", email: "" } });
    }
    updateSelection();
    for (const box of list.querySelectorAll('td.select input:not([disabled])')) box.checked = true;
    announce(`${state.selected.size.toLocaleString("en")} selected${matchingMembers.more ? ": the most one removal takes" : ""}.`);
  }));

  await load();
}

function openReactivation(app, member, done) {
  openStatusChange(app, member, "REACTIVATE", `Reactivate ${member.user.name}?`, (close) => {
    const withKey = idempotent();
    const problems = h("div");
    const confirm = h("button", { type: "button", class: "primary" }, "Reactivate");
    confirm.addEventListener("click", () => act(app, confirm, problems, async () => {
      const { reactivateUser } = await gql(
        `mutation($input: ReactivateUserInput!) { reactivateUser(input: $input) { member { status } userErrors { code message } } }`,
        { input: withKey({ workspaceId: app.workspaceId, userId: member.user.id }) },
      );
      if (!accepted(reactivateUser, problems)) return;
      close();
      toast(`${member.user.name} is active again.`);
      done();
    }, close));
    return h("div", {}, problems, h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), confirm));
  });
}

function openTransfer(app, member, done) {
  openDialog(`Make ${member.user.name} an owner?`, (close) => {
    const withKey = idempotent();
    const problems = h("div");
    const demote = h(
      "select",
      { name: "demoteSelfTo" },
      h("option", { value: "" }, "Stay an owner"),
      h("option", { value: "ADMIN" }, "Become an admin"),
      h("option", { value: "MEMBER" }, "Become a member"),
    );
    const confirm = h("button", { type: "button", class: "primary" }, "Transfer ownership");
    confirm.addEventListener("click", () => act(app, confirm, problems, async () => {
      const { transferOwnership } = await gql(
        `mutation($input: TransferOwnershipInput!) { transferOwnership(input: $input) { newOwner { role } userErrors { code message } } }`,
        { input: withKey({ workspaceId: app.workspaceId, toUserId: member.user.id, demoteSelfTo: demote.value || null }) },
      );
      if (!accepted(transferOwnership, problems)) return;
      close();
      toast(`${member.user.name} is now an owner.`);
      if (demote.value) location.reload();
      else done();
    }, close));
    return [
      h("p", {}, `${member.user.name} becomes an owner of the workspace, with every permission.`),
      field("Your role afterwards", demote),
      problems,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), confirm),
    ];
  });
}

/// Changes a member's role. Who may grant what, and the last owner, are the API's rules: a
/// refusal shows its reason in the dialog, which stays open.
function openRoleChange(app, member, done) {
  openDialog(`Change the role of ${member.user.name}`, (close) => {
    const withKey = idempotent();
    const problems = h("div");
    const role = h(
      "select",
      { name: "role" },
      ROLES.map((value) => h("option", { value, selected: value === member.role }, roleLabel(value))),
    );
    const confirm = h("button", { type: "submit", class: "primary" }, "Change role");
    return h(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          act(app, confirm, problems, async () => {
            const { updateMemberRole } = await gql(
              `mutation($input: UpdateMemberRoleInput!) { updateMemberRole(input: $input) { member { role } userErrors { code message } } }`,
              { input: withKey({ workspaceId: app.workspaceId, userId: member.user.id, role: role.value }) },
            );
            if (!accepted(updateMemberRole, problems)) return;
            await done();
            close();
            toast(`${member.user.name} is now ${roleLabel(updateMemberRole.member.role)}.`);
          }, close);
        },
      },
      h("p", {}, `${member.user.name} is ${roleLabel(member.role)} now. Owners may grant any role; admins may grant Member and Guest to people below them. A workspace always keeps an active owner.`),
      field("New role", role),
      problems,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), confirm),
    );
  });
}


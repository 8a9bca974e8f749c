// The People page: signs in, then shows the workspace's people, the recently removed and the
// audit log. Every view reaches the service through api.js; a token the service no longer
// accepts (signed out elsewhere, or this person's access removed) brings back the sign-in form.

import { gql, session, Unauthenticated } from "./api.js";
import { accepted, announce, busy, errorBox, field, h, replace, roleLabel } from "./ui.js";
import { peopleView } from "./people.js";
import { auditView, removedView } from "./history.js";
import { invitationsView } from "./invitations.js";
import { apiKeysView, memberView } from "./member.js";

const root = document.getElementById("app");

const VIEWER = `{ viewer { role permissions user { id name } workspace { id name organizationId } } }`;

/// What every view needs: who is signed in, where, and what they may do; and `fail`, the one
/// way a view reports an error it can't show itself.
function context(viewer) {
  return {
    viewer,
    workspaceId: viewer.workspace.id,
    organizationId: viewer.workspace.organizationId,
    userId: viewer.user.id,
    can: (permission) => viewer.permissions.includes(permission),
    fail: (error) => {
      if (error instanceof Unauthenticated) {
        signInView("Your session has ended: you were signed out, or your access to this workspace changed. Sign in again.");
        return true;
      }
      return false;
    },
  };
}

async function start() {
  if (location.pathname.endsWith("/accept-invitation")) {
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    // Out of the address bar and the history at once; kept in this page only.
    history.replaceState(null, "", location.pathname);
    acceptView(token);
    return;
  }
  if (!session.token) {
    signInView();
    return;
  }
  replace(root, h("p", { class: "loading" }, "Loading…"));
  try {
    const { viewer } = await gql(VIEWER);
    shell(context(viewer));
  } catch (error) {
    if (error instanceof Unauthenticated) signInView();
    else replace(root, errorBox(error.message), h("button", { onclick: start }, "Try again"));
  }
}

/// A form alone on the page that signs someone in: `title`, what it says first (`intro`), its
/// fields, and `act()`, which returns a payload with `token` and `userErrors`. Errors show in the
/// form; a token starts the app.
function signInForm({ title, intro, fields, submitLabel, act, refused }) {
  const submit = h("button", { class: "primary", type: "submit" }, submitLabel);
  const problems = h("div");
  const titleId = `${submitLabel.replace(/\W+/g, "-").toLowerCase()}-title`;
  const form = h(
    "form",
    {
      class: "card sign-in",
      "aria-labelledby": titleId,
      onsubmit: async (event) => {
        event.preventDefault();
        replace(problems);
        await busy(submit, async () => {
          try {
            const payload = await act();
            if (!accepted(payload, problems)) {
              refused?.();
              return;
            }
            session.token = payload.token;
            history.replaceState(null, "", "./");
            await start();
          } catch (error) {
            replace(problems, errorBox(error.message));
          }
        });
      },
    },
    h("h1", { id: titleId }, title),
    intro,
    fields,
    problems,
    submit,
  );
  replace(root, h("main", { class: "centered" }, form));
  return submit;
}

function signInView(notice) {
  window.onhashchange = null;
  const previous = localStorage.getItem("offboarding.workspace") || "";
  const workspace = h("input", { name: "workspace", required: true, autocomplete: "organization", value: previous });
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "username" });
  const password = h("input", { name: "password", type: "password", required: true, autocomplete: "current-password" });
  signInForm({
    title: "Sign in",
    intro: notice ? h("p", { class: "notice", role: "status" }, notice) : null,
    fields: [
      field("Workspace", workspace, "Its short name, as in acme-marketing."),
      field("Email", email),
      field("Password", password),
    ],
    submitLabel: "Sign in",
    act: async () => {
      const { signIn } = await gql(
        `mutation($input: SignInInput!) { signIn(input: $input) { token userErrors { code message field } } }`,
        { input: { workspaceSlug: workspace.value.trim(), email: email.value, password: password.value } },
      );
      if (signIn.token) localStorage.setItem("offboarding.workspace", workspace.value.trim());
      return signIn;
    },
    refused: () => password.select(),
  });
  (workspace.value ? email : workspace).focus();
}

/// The page an invitation link opens: what it opens onto (the workspace, the role, who sent
/// it), then a name and a password, or only the password of an account the email already has.
async function acceptView(token) {
  window.onhashchange = null;
  let opening = null;
  let refusal = token ? null : "This link has no invitation in it: open the link from your invitation email again.";
  if (token) {
    replace(root, h("p", { class: "loading" }, "Opening your invitation…"));
    try {
      const { invitationOpening } = await gql(
        `query($t: String!) { invitationOpening(token: $t) { opening { workspaceName role invitedBy hasAccount } userErrors { message } } }`,
        { t: token },
      );
      opening = invitationOpening.opening;
      refusal = invitationOpening.userErrors.map((error) => error.message).join(" ") || null;
    } catch (error) {
      refusal = error.message;
    }
  }
  const name = h("input", { name: "name", autocomplete: "name" });
  const password = h("input", { name: "password", type: "password", required: true, autocomplete: opening?.hasAccount ? "current-password" : "new-password" });
  const invitedBy = opening?.invitedBy ? `${opening.invitedBy} invited you` : "You are invited";
  const submit = signInForm({
    title: opening ? `Join ${opening.workspaceName}` : "Accept your invitation",
    intro: opening
      ? h(
          "div",
          { class: "invitation" },
          h("p", {}, `${invitedBy} to join ${opening.workspaceName} as ${roleLabel(opening.role)}.`),
          h("p", {}, opening.hasAccount
            ? "You already have an account with this email: enter its password to join."
            : "Choose your name and a password (at least 8 characters)."),
        )
      : errorBox(refusal),
    fields: opening?.hasAccount ? [field("Password", password)] : [field("Your name", name), field("Password", password)],
    submitLabel: "Join the workspace",
    act: async () => {
      const { acceptInvitation } = await gql(
        `mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { token userErrors { code message field } } }`,
        { input: { token, name: name.value.trim() || null, password: password.value } },
      );
      return acceptInvitation;
    },
  });
  submit.disabled = !opening;
  (opening?.hasAccount ? password : name).focus();
}

function shell(app) {
  const { viewer } = app;
  const views = [
    { id: "people", label: "People", show: () => peopleView(app) },
    app.can("USER_MANAGEMENT") ? { id: "invitations", label: "Invitations", show: () => invitationsView(app) } : null,
    app.can("USER_MANAGEMENT") ? { id: "removed", label: "Recently removed", show: () => removedView(app) } : null,
    app.can("API_KEY_MANAGEMENT") ? { id: "keys", label: "API keys", show: () => apiKeysView(app) } : null,
    app.can("USER_MANAGEMENT") ? { id: "audit", label: "Audit log", show: () => auditView(app) } : null,
  ].filter(Boolean);
  const content = h("main", { id: "content", tabindex: "-1" });
  const tabs = views.map((view) =>
    h("a", { href: `#${view.id}`, "data-view": view.id }, view.label),
  );
  const signOut = h("button", { type: "button", onclick: async () => {
    await busy(signOut, async () => {
      try {
        await gql(`mutation { signOut { signedOut } }`);
      } catch {
        // Signed out already, or unreachable: the token is forgotten either way.
      }
      session.clear();
      signInView("You are signed out.");
    });
  } }, "Sign out");
  replace(
    root,
    h("a", { class: "skip", href: "#content", onclick: (event) => {
      event.preventDefault();
      content.focus();
    } }, "Skip to content"),
    h(
      "header",
      { class: "top" },
      h("div", { class: "brand" }, h("strong", {}, viewer.workspace.name), " · People"),
      h("nav", { "aria-label": "Sections" }, tabs),
      h("div", { class: "who" }, h("span", {}, `${viewer.user.name} (${viewer.role.toLowerCase()})`), signOut),
    ),
    content,
    h("p", { id: "status", class: "visually-hidden", role: "status", "aria-live": "polite" }),
  );
  const show = () => {
    const id = location.hash.slice(1);
    // A member's page (#member/<user id>) sits under People.
    const memberId = app.can("USER_MANAGEMENT") ? id.match(/^member\/([0-9a-f-]{36})$/)?.[1] : null;
    const view = memberId
      ? { id: "people", label: "A member", show: () => memberView(app, memberId) }
      : views.find((candidate) => candidate.id === id) || views[0];
    for (const tab of tabs) {
      if (tab.dataset.view === view.id) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    replace(content);
    view.show().catch((error) => {
      if (!app.fail(error)) replace(content, errorBox(error.message));
    });
    announce(`${view.label}`);
  };
  window.onhashchange = show;
  show();
}

start();

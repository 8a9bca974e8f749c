// The Remove dialog (what `removalPreview` says each person loses and keeps, what blocks it, and
// the choices it needs: who takes their campaigns and contact duties, whether their API keys
// go too), the Deactivate dialog, and the live progress of the side effects that follow.

import { gql, idempotent, RequestFailed, subscribe, Unauthenticated } from "./api.js";
import { accepted, announce, busy, errorBox, field, h, openDialog, personPicker, replace, statusBadge, toast } from "./ui.js";

const PREVIEW = `query($ws: UUID!, $ids: [UUID!]!) { removalPreview(workspaceId: $ws, userIds: $ids) {
  canRemove summary members { userId name email status role seatFreed
    loses { workspaceName groups } preserved { otherWorkspaces otherOrganizations }
    contactDuties { duty applicationId applicationName }
    campaignsToReattribute apiKeysToRevoke invitationsToRevoke rulesKeepRunning
    apiKeys { id name prefix role } blockers { code message userId } consequences } } }`;

const STATUS_PREVIEW = `query($ws: UUID!, $u: UUID!, $change: StatusChange!) {
  statusChangePreview(workspaceId: $ws, userId: $u, change: $change) {
    canChange consequences blockers { code message } } }`;

const ACTIVE_MEMBERS = `query($ws: UUID!, $search: String) {
  members(workspaceId: $ws, filter: { statuses: [ACTIVE], search: $search }, first: 100) {
  nodes { user { id name email } } } }`;

const REMOVE = `mutation($input: RemoveMembersInput!) { removeMembers(input: $input) {
  offboarding { id } userErrors { code message userId field } } }`;

/// Past this many people, a dialog or a progress list speaks of them together.
const MANY = 20;

const DUTY_LABELS = {
  ADMINISTRATIVE_CONTACT: "administrative contact of the workspace",
  TECHNICAL_CONTACT: "technical contact of the workspace",
  APPLICATION_TECHNICAL_CONTACT: "technical contact of an application",
};

const JOB_LABELS = {
  END_SESSIONS: "End their sessions",
  REVOKE_API_KEYS: "Revoke their API keys",
  REATTRIBUTE_CAMPAIGNS: "Give their campaigns to the new owner",
  SEND_REMOVAL_EMAIL: "Tell them by email",
};

/// Who takes something over: an active member not being removed (see `personPicker`).
function assigneeField(app, close, label, { name, candidates, exclude, placeholder, required = false, hint }) {
  const eligible = (people) => people.filter((person) => !exclude.includes(person.id));
  return personPicker(app, label, {
    name,
    people: eligible(candidates),
    find: async (search) => eligible((await gql(ACTIVE_MEMBERS, { ws: app.workspaceId, search })).members.nodes.map((node) => node.user)),
    option: (person) => [person.id, `${person.name} (${person.email})`],
    placeholder,
    matches: ["member matches", "members match"],
    nobody: "No active member matches",
    required,
    hint,
    signedOut: close,
  });
}

export function openRemoval(app, members, done) {
  const names = members.map((member) => member.user.name);
  const title = members.length === 1 ? `Remove ${names[0]}?` : `Remove ${members.length.toLocaleString("en")} people?`;
  openDialog(title, (close, dialog) => {
    const body = h("div", { "aria-busy": "true" }, h("p", { class: "loading" }, "Checking what removing them would do…"));
    load(app, members, body, close, dialog, done);
    return body;
  }, { wide: true });
}

async function load(app, members, body, close, dialog, done) {
  const ids = members.map((member) => member.user.id);
  let preview;
  let candidates;
  try {
    const [{ removalPreview }, { members: active }] = await Promise.all([
      gql(PREVIEW, { ws: app.workspaceId, ids }),
      gql(ACTIVE_MEMBERS, { ws: app.workspaceId }),
    ]);
    preview = removalPreview;
    candidates = active.nodes.map((node) => node.user);
  } catch (error) {
    if (app.fail(error)) return close();
    body.setAttribute("aria-busy", "false");
    replace(body, errorBox(error.message), h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Close")));
    return;
  }
  body.setAttribute("aria-busy", "false");

  const withKey = idempotent();
  const dutyPickers = new Map();
  // More people than a dialog can show one by one: what happens to all of them, said once, and
  // only those who need a choice or can't be removed, one by one.
  const many = preview.members.length > MANY;
  const oneByOne = many
    ? preview.members.filter((person) => person.blockers.length > 0 || person.contactDuties.length > 0)
    : preview.members;
  const people = oneByOne.map((person) => {
    const otherBlockers = person.blockers.filter((blocker) => blocker.code !== "CONTACT_REASSIGNMENT_REQUIRED");
    let dutyPicker = null;
    if (person.contactDuties.length > 0) {
      dutyPicker = assigneeField(app, close, "Reassign their contact duties to", {
        name: `duties-${person.userId}`,
        candidates,
        exclude: ids,
        placeholder: "Choose who takes them over",
        required: true,
      });
      dutyPickers.set(person.userId, { select: dutyPicker.select, duties: person.contactDuties });
    }
    // What the API says the removal does to them, as it says it.
    const facts = person.consequences.map((sentence) => h("li", {}, sentence));
    return h(
      "section",
      { class: "person", "aria-label": person.name || person.email || "Unknown member" },
      h("h3", {}, person.name || "Unknown member", " ", person.email ? h("span", { class: "email" }, person.email) : null, " ", person.status ? statusBadge(person.status) : null),
      h("ul", { class: "facts" }, facts),
      dutyPicker
        ? h(
            "div",
            { class: "duties" },
            h("p", {}, "They are the ", person.contactDuties.map((duty) => duty.applicationName ? `${DUTY_LABELS[duty.duty]} (${duty.applicationName})` : DUTY_LABELS[duty.duty]).join(", "), ": someone must take this over first."),
            dutyPicker.element,
          )
        : null,
      errorBox(otherBlockers.map((blocker) => blocker.message)),
    );
  });

  const campaigns = preview.members.reduce((sum, person) => sum + person.campaignsToReattribute, 0);
  const keys = preview.members.reduce((sum, person) => sum + person.apiKeysToRevoke, 0);
  const reattribute = campaigns
    ? assigneeField(app, close, "Give their campaigns to", {
        name: "reattributeTo",
        candidates,
        exclude: ids,
        placeholder: "The workspace itself",
        hint: "Their author stays recorded; only the owner changes.",
      })
    : null;
  const revoke = h("input", { type: "checkbox", name: "revokeApiKeys", id: "revoke-api-keys", disabled: keys === 0 });
  const reason = h("textarea", { name: "reason", rows: 2, maxlength: 1000 });
  const hardBlocked = preview.members.some((person) => person.blockers.some((blocker) => blocker.code !== "CONTACT_REASSIGNMENT_REQUIRED"));
  const confirm = h("button", { type: "submit", class: "danger", disabled: hardBlocked }, dutyPickers.size ? "Reassign and remove" : "Remove");
  const problems = h("div");

  const form = h(
    "form",
    {
      // Checked here, to name what is missing beside the dialog's other errors.
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        replace(problems);
        const missing = [...dutyPickers.values()].filter(({ select }) => !select.value);
        if (missing.length) {
          replace(problems, errorBox("Choose who takes over each person's contact duties."));
          missing[0].select.focus();
          return;
        }
        const input = {
          workspaceId: app.workspaceId,
          userIds: ids,
          reason: reason.value.trim() || null,
          revokeApiKeys: revoke.checked,
          reattributeTo: reattribute?.select.value || null,
          contactReassignments: [...dutyPickers.entries()].map(([fromUserId, { select, duties }]) => ({
            fromUserId,
            assignments: assignments(duties, select.value),
          })),
        };
        await busy(confirm, async () => {
          try {
            const { removeMembers } = await gql(REMOVE, { input: withKey(input) });
            if (!accepted(removeMembers, problems)) return;
            const said = members.length === 1 ? `${members[0].user.name} was removed.` : `${members.length.toLocaleString("en")} people were removed.`;
            retitle(dialog, said.slice(0, -1));
            toast(said, () => undoRemoval(app, members, done));
            done();
            replace(body, progressPanel(app, removeMembers.offboarding.id, close, dialog));
          } catch (error) {
            if (app.fail(error)) close();
            else replace(problems, errorBox(error.message));
          }
        });
      },
    },
    many ? h("ul", { class: "facts summary" }, preview.summary.map((sentence) => h("li", {}, sentence))) : null,
    people,
    reattribute?.element,
    h(
      "div",
      { class: "check" },
      revoke,
      h("label", { for: "revoke-api-keys" }, `Also revoke their API keys (${keys})`),
    ),
    field("Reason (optional, kept in the audit log and told to them)", reason),
    problems,
    h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), confirm),
  );
  replace(body, form);
  const first = dialog.querySelector("select, input:not([disabled]), textarea");
  (first || confirm).focus();
}

/// A dialog's title, once what it asked is done: it says what was done.
function retitle(dialog, title) {
  dialog.querySelector(".dialog-header h2").textContent = title;
}

/// The toast's Undo of a removal: each person restored, in one request.
async function undoRemoval(app, members, done) {
  const declared = members.map((_, i) => `$r${i}: RestoreMemberInput!`).join(", ");
  const calls = members.map((_, i) => `r${i}: restoreMember(input: $r${i}) { userErrors { message } }`).join(" ");
  const variables = Object.fromEntries(members.map((member, i) => [`r${i}`, { workspaceId: app.workspaceId, userId: member.user.id }]));
  try {
    const answer = await gql(`mutation(${declared}) { ${calls} }`, variables);
    const refused = members.flatMap((_, i) => answer[`r${i}`].userErrors.map((error) => error.message));
    await done();
    toast(refused.length ? `Not undone: ${refused.join(" ")}` : members.length === 1 ? `${members[0].user.name} is back.` : `${members.length.toLocaleString("en")} people are back.`);
  } catch (error) {
    if (!app.fail(error)) toast(`Not undone: ${error.message}`);
  }
}

/// The toast's Undo of a deactivation: the member reactivated.
async function undoDeactivation(app, member, done) {
  try {
    const { reactivateUser } = await gql(
      `mutation($input: ReactivateUserInput!) { reactivateUser(input: $input) { userErrors { message } } }`,
      { input: { workspaceId: app.workspaceId, userId: member.user.id } },
    );
    await done();
    const refused = reactivateUser.userErrors.map((error) => error.message);
    toast(refused.length ? `Not undone: ${refused.join(" ")}` : `${member.user.name} is active again.`);
  } catch (error) {
    if (!app.fail(error)) toast(`Not undone: ${error.message}`);
  }
}

/// The assignments moving all of a person's duties to one assignee.
function assignments(duties, toUserId) {
  const applicationIds = duties.filter((duty) => duty.applicationId).map((duty) => duty.applicationId);
  const kinds = [...new Set(duties.map((duty) => duty.duty))];
  return kinds.map((duty) => ({
    duty,
    applicationIds: duty === "APPLICATION_TECHNICAL_CONTACT" ? applicationIds : null,
    toUserId,
  }));
}

/// A dialog about a change of `member`'s status: what the API's `statusChangePreview` says it
/// does (or what blocks it), then `form(close, dialog, body)` to confirm it.
export function openStatusChange(app, member, change, title, form) {
  openDialog(title, (close, dialog) => {
    const body = h("div", { "aria-busy": "true" }, h("p", { class: "loading" }, "Checking what this would do…"));
    gql(STATUS_PREVIEW, { ws: app.workspaceId, u: member.user.id, change })
      .then(({ statusChangePreview: preview }) => {
        body.setAttribute("aria-busy", "false");
        const said = h("ul", { class: "facts" }, preview.consequences.map((sentence) => h("li", {}, sentence)));
        if (!preview.canChange) {
          replace(body, said, errorBox(preview.blockers.map((blocker) => blocker.message)), h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Close")));
          return;
        }
        replace(body, said, form(close, dialog, body));
        (dialog.querySelector("form input, form textarea, form button.primary, form button.danger") || dialog).focus();
      })
      .catch((error) => {
        if (app.fail(error)) return close();
        body.setAttribute("aria-busy", "false");
        replace(body, errorBox(error.message), h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Close")));
      });
    return body;
  });
}

export function openDeactivation(app, member, done) {
  openStatusChange(app, member, "DEACTIVATE", `Deactivate ${member.user.name}?`, (close, dialog, body) => {
    const withKey = idempotent();
    const reason = h("textarea", { name: "reason", rows: 2, maxlength: 1000 });
    const revoke = h("input", { type: "checkbox", name: "revokeApiKeys", id: "deactivate-revoke" });
    const confirm = h("button", { type: "submit", class: "danger" }, "Deactivate");
    const problems = h("div");
    return h(
      "form",
      {
        onsubmit: async (event) => {
          event.preventDefault();
          replace(problems);
          await busy(confirm, async () => {
            try {
              const { deactivateUser } = await gql(
                `mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) { offboarding { id } userErrors { code message } } }`,
                { input: withKey({ workspaceId: app.workspaceId, userId: member.user.id, reason: reason.value.trim() || null, revokeApiKeys: revoke.checked }) },
              );
              if (!accepted(deactivateUser, problems)) return;
              retitle(dialog, `${member.user.name} was deactivated`);
              toast(`${member.user.name} was deactivated.`, () => undoDeactivation(app, member, done));
              done();
              replace(body, progressPanel(app, deactivateUser.offboarding.id, close, dialog));
            } catch (error) {
              if (app.fail(error)) close();
              else replace(problems, errorBox(error.message));
            }
          });
        },
      },
      h("div", { class: "check" }, revoke, h("label", { for: "deactivate-revoke" }, "Also revoke their API keys")),
      field("Reason (optional)", reason),
      problems,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), confirm),
    );
  });
}

/// Where an offboarding stands, as the server judges it: in progress while a job is unfinished
/// (a FAILED one waits for its next attempt), else failed if one is DEAD, else done.
function standing(jobs) {
  if (jobs.some((job) => !["SUCCEEDED", "DEAD"].includes(job.status))) return "IN_PROGRESS";
  return jobs.some((job) => job.status === "DEAD") ? "FAILED" : "SUCCEEDED";
}

/// The side effects of an offboarding, live: each job's state as the worker carries it out,
/// until all are done, or the failed ones with their errors and a Retry for those that gave up.
/// It stops following when its dialog closes, however it closes.
export function progressPanel(app, offboardingId, close, dialog) {
  const jobs = new Map();
  const retries = new Map();
  let overall = "IN_PROGRESS";
  let stop = () => {};
  let closed = false;
  dialog.addEventListener("close", () => {
    closed = true;
    stop();
  });
  const meter = h("progress", { max: 1, value: 0, "aria-label": "Side effects carried out" });
  const summary = h("p", { class: "progress-summary", role: "status" }, "Carrying out the side effects…");
  const list = h("ol", { class: "jobs" });
  const problems = h("div");
  const closeButton = h("button", { type: "button", class: "primary", onclick: close }, "Close");
  const panel = h("div", { class: "progress", "data-offboarding": offboardingId }, summary, meter, list, problems, h("div", { class: "buttons" }, closeButton));

  /// A job's state, unless an older one than what is shown (the subscription replays history).
  const update = (job) => {
    const shown = jobs.get(job.id);
    if (!shown || Date.parse(job.at) >= Date.parse(shown.at)) jobs.set(job.id, job);
  };

  // Drawn once a frame at most: a removal of thousands sends an event per job.
  let drawing = false;
  const render = () => {
    if (drawing) return;
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      draw();
    });
  };
  const draw = () => {
    const all = [...jobs.values()];
    const finished = all.filter((job) => job.status === "SUCCEEDED").length;
    meter.max = Math.max(all.length, 1);
    meter.value = finished;
    panel.dataset.status = overall;
    summary.textContent =
      overall === "SUCCEEDED" ? `Done: ${all.length === 1 ? "the side effect was" : `all ${all.length} side effects were`} carried out.`
        : overall === "FAILED" ? `Some side effects failed (${finished} of ${all.length} done).`
          : `Carrying out the side effects… ${finished} of ${all.length} done.`;
    // Thousands of jobs: a line per kind, and one per job only for those that failed.
    const kinds = new Map();
    for (const job of all) {
      if (!kinds.has(job.kind)) kinds.set(job.kind, []);
      kinds.get(job.kind).push(job);
    }
    const byKind = all.length > MANY
      ? [...kinds.entries()].map(([kind, ofKind]) => h(
          "li",
          { class: "job-kind", "data-kind": kind },
          `${JOB_LABELS[kind] || kind}: ${ofKind.filter((job) => job.status === "SUCCEEDED").length} of ${ofKind.length} done`,
        ))
      : [];
    const listed = all.length > MANY ? all.filter((job) => ["FAILED", "DEAD"].includes(job.status)) : all;
    replace(
      list,
      byKind,
      listed.map((job) =>
        h(
          "li",
          { class: `job job-${job.status.toLowerCase()}`, "data-kind": job.kind, "data-at": job.at },
          h("span", {}, JOB_LABELS[job.kind] || job.kind),
          " ",
          h("span", { class: "job-status" }, job.status === "FAILED" ? `failed, retrying (attempt ${job.attempts})` : job.status.toLowerCase()),
          job.lastError && job.status !== "SUCCEEDED" ? h("span", { class: "job-error" }, job.lastError) : null,
          job.status === "DEAD" && app.can("USER_MANAGEMENT")
            ? h("button", { type: "button", onclick: (event) => retry(job, event.target) }, "Retry")
            : null,
        ),
      ),
    );
  };

  const retry = (job, button) => busy(button, async () => {
    replace(problems);
    if (!retries.has(job.id)) retries.set(job.id, idempotent());
    try {
      const { retryJob } = await gql(
        `mutation($input: RetryJobInput!) { retryJob(input: $input) { job { id status attempts lastError kind updatedAt } userErrors { message } } }`,
        { input: retries.get(job.id)({ jobId: job.id }) },
      );
      if (!accepted(retryJob, problems)) return;
      retries.delete(job.id);
      update({ ...retryJob.job, at: retryJob.job.updatedAt });
      panel.dataset.retries = String(Number(panel.dataset.retries || 0) + 1);
      announce(`${JOB_LABELS[job.kind] || job.kind}: retrying.`);
      overall = "IN_PROGRESS";
      render();
      follow();
    } catch (error) {
      if (app.fail(error)) close();
      else replace(problems, errorBox(error.message));
    }
  });

  // The state now, then every change as it happens. If the live connection fails, or ends while
  // a job is running again, the state is read once a second until it settles.
  const poll = async () => {
    try {
      const { offboarding } = await gql(
        `query($id: UUID!) { offboarding(id: $id) { jobs(first: 100) { id kind status attempts lastError updatedAt } } }`,
        { id: offboardingId },
      );
      for (const job of offboarding.jobs) update({ ...job, at: job.updatedAt });
      // Judged from the jobs read, not from `status`, which the server reads on its own: the
      // two could disagree about a job finishing in between.
      overall = standing([...jobs.values()]);
      replace(problems);
      render();
      return overall;
    } catch (error) {
      if (app.fail(error)) {
        close();
        return "STOPPED";
      }
      replace(problems, errorBox(error.message));
      return error instanceof RequestFailed ? "UNKNOWN" : "STOPPED";
    }
  };
  const pollUntilSettled = async () => {
    if (closed) return;
    const status = await poll();
    if (status === "IN_PROGRESS" || status === "UNKNOWN") setTimeout(pollUntilSettled, 1000);
  };
  const follow = () => {
    stop();
    stop = subscribe(
      `subscription($id: UUID!) { offboardingProgress(id: $id) { jobId kind status attempts lastError at offboardingStatus } }`,
      { id: offboardingId },
      {
        onEvent: ({ offboardingProgress: event }) => {
          update({ id: event.jobId, kind: event.kind, status: event.status, attempts: event.attempts, lastError: event.lastError, at: event.at });
          overall = event.offboardingStatus;
          render();
        },
        onEnd: pollUntilSettled,
        onError: (error) => {
          if (error instanceof Unauthenticated) {
            if (app.fail(error)) close();
            return;
          }
          pollUntilSettled();
        },
      },
    );
  };
  poll().then((status) => {
    if (status === "IN_PROGRESS" && !closed) follow();
    else if (status === "UNKNOWN") pollUntilSettled();
  });
  setTimeout(() => closeButton.focus(), 0);
  return panel;
}

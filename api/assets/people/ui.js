// Small DOM helpers shared by the views: elements built from data (text is always set as text,
// never parsed as HTML), modal dialogs, status badges, dates, and messages for screen readers.

import { idempotent } from "./api.js";

/// The attributes set as properties: the live state of a control, not its initial markup.
const PROPERTIES = new Set(["checked", "disabled", "value", "selected", "required"]);

/// `h("button", { class: "primary", onclick }, "Remove")`: an element with attributes, event
/// handlers (`on…`) and children (strings become text nodes; null and false are skipped).
/// `aria-*` values are always written out (`false` as "false"); other attributes are left out
/// when null or false, and written empty when true.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (PROPERTIES.has(name)) element[name] = value;
    else if (name.startsWith("aria-")) element.setAttribute(name, String(value));
    else if (value !== false) element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/// Replaces an element's children.
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

let idCounter = 0;
/// A unique id, to tie a label or a description to its control.
export function uid(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/// A labelled field: `field("Email", input)` ties the label to the control.
export function field(label, control, hint) {
  control.id ||= uid("field");
  const hintElement = hint ? h("p", { class: "hint", id: uid("hint") }, hint) : null;
  if (hintElement) control.setAttribute("aria-describedby", hintElement.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, label), control, hintElement);
}

/// A message said to screen readers (and shown in the status line) without moving focus.
export function announce(message) {
  const status = document.getElementById("status");
  if (status) status.textContent = message;
}

/// Says what an action did, where anyone can see it (a toast at the bottom of the page, for
/// eight seconds) and screen readers hear it; with `undo`, an Undo button that runs it once.
export function toast(message, undo = null) {
  announce(message);
  document.querySelector(".toast")?.remove();
  const note = h("div", { class: "toast", "data-toast": message }, h("span", {}, message));
  if (undo) {
    const button = h("button", { type: "button" }, "Undo");
    button.addEventListener("click", () => busy(button, async () => {
      await undo();
      note.remove();
    }));
    note.append(button);
  }
  document.body.append(note);
  setTimeout(() => note.remove(), 8000);
}

/// An error shown where it happened: `role="alert"` so it is read out at once.
export function errorBox(messages) {
  const list = [messages].flat().filter(Boolean);
  if (list.length === 0) return null;
  return h(
    "div",
    { class: "error", role: "alert" },
    list.length === 1 ? list[0] : h("ul", {}, list.map((message) => h("li", {}, message))),
  );
}

const STATUS_LABELS = { INVITED: "Invited", ACTIVE: "Active", DEACTIVATED: "Deactivated" };

/** Shows a mutation payload's userErrors in `box`; true when it had none. */
export function accepted(payload, box) {
  if (payload.userErrors.length === 0) return true;
  replace(box, errorBox(payload.userErrors.map((error) => error.message)));
  return false;
}

export function statusBadge(status) {
  return h("span", { class: `badge badge-${status.toLowerCase()}` }, STATUS_LABELS[status] || status);
}

export function roleLabel(role) {
  return role.charAt(0) + role.slice(1).toLowerCase();
}

export function formatDate(value) {
  if (!value) return "";
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/// Opens a modal dialog. The browser's modal <dialog> keeps focus inside it and makes the page
/// behind inert; Escape closes it. Focus returns to what opened it. `build(close)` returns the
/// dialog's content; `close()` closes it. Returns the dialog element.
export function openDialog(title, build, { wide = false } = {}) {
  const opener = document.activeElement;
  const titleId = uid("dialog-title");
  const dialog = h("dialog", { class: wide ? "wide" : "", "aria-labelledby": titleId });
  const close = () => dialog.close();
  dialog.addEventListener("close", () => {
    dialog.remove();
    // What opened it may be gone (its row redrawn after the change): the page's heading then.
    if (opener && document.contains(opener)) opener.focus();
    else document.querySelector("#content h1")?.focus();
  });
  replace(
    dialog,
    h(
      "header",
      { class: "dialog-header" },
      h("h2", { id: titleId }, title),
      h("button", { class: "icon", type: "button", "aria-label": "Close", onclick: close }, "×"),
    ),
    h("div", { class: "dialog-body" }, build(close, dialog)),
  );
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/// A dialog asking to confirm one change: `sentence` says what it does; `change(withKey)` makes
/// it (with an idempotency key kept across retries of the same click) and returns its payload.
/// Refusals stay in the dialog; once done, `done()` redraws what shows it, the dialog closes
/// and `toastText` says what was done.
export function openConfirm(app, title, { sentence, label, change, done, toastText }) {
  openDialog(title, (close) => {
    const withKey = idempotent();
    const problems = h("div");
    const confirm = h("button", { type: "button", class: "danger" }, label);
    confirm.addEventListener("click", () => act(app, confirm, problems, async () => {
      if (!accepted(await change(withKey), problems)) return;
      await done();
      close();
      toast(toastText);
    }, close));
    return [
      h("p", {}, sentence),
      problems,
      h("div", { class: "buttons" }, h("button", { type: "button", onclick: close }, "Cancel"), confirm),
    ];
  });
}

/// A button's call to the API, run once at a time (`busy`): what `problems` showed before is
/// cleared, an error the API reported shows there, and a session that ended closes the dialog
/// the button is in (`close`, when it is in one) for the sign-in form to take over.
export function act(app, button, problems, action, close = null) {
  return busy(button, async () => {
    replace(problems);
    try {
      await action();
    } catch (error) {
      if (app.fail(error)) close?.();
      else replace(problems, errorBox(error.message));
    }
  });
}

/// Runs `action` with `button` disabled and marked busy, so a double click acts once.
export async function busy(button, action) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/// Calls `fn` once input has paused for `ms`.
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/// "1 member", "3 members".
export const plural = (count, one, many) => `${count} ${count === 1 ? one : many}`;

/// A choice of one person in a workspace that may hold thousands: the list opens on `people`
/// (a first page already loaded; without it, on `find(null)`, the first page, asked at once),
/// and the search box above it asks `find(text)` for the people whose name or email matches, as
/// the server searches. Only the latest search's answer is shown, a choice made stays chosen
/// while the list changes under it, and Enter searches at once instead of submitting the form
/// around it (in a dialog, that would confirm it). `option(person)` is `[value, text]`; `matches` is how to count what was found
/// (`["member matches", "members match"]`), `nobody` what to say when nothing was;
/// `signedOut()` runs when the session ended meanwhile. Returns the field and its select.
export function personPicker(app, label, { name, people, find, option, placeholder, matches, nobody, required = false, hint, signedOut = () => {} }) {
  const select = h("select", { name, required });
  const search = h("input", {
    type: "search",
    name: `${name}-search`,
    placeholder: "Find by name or email",
    autocomplete: "off",
    maxlength: 100,
    "aria-label": `${label}: find by name or email`,
  });
  const found = h("p", { class: "hint", role: "status" });
  const problems = h("div");
  const show = (listed, text) => {
    const chosen = [...select.selectedOptions].find((selected) => selected.value);
    const options = listed.map(option);
    const kept = chosen && !options.some(([value]) => value === chosen.value) ? chosen : null;
    replace(select, h("option", { value: "" }, placeholder), kept, options.map(([value, shown]) => h("option", { value }, shown)));
    select.value = chosen ? chosen.value : "";
    if (!text) replace(found);
    else if (listed.length) replace(found, `${plural(listed.length, ...matches)} “${text}”.`);
    else replace(found, `${nobody} “${text}”.`);
  };
  let asked = 0;
  const ask = async () => {
    const ticket = ++asked;
    const text = search.value.trim();
    try {
      const listed = await find(text || null);
      // Answers can arrive out of order: only the latest search's is shown.
      if (ticket !== asked) return;
      replace(problems);
      show(listed, text);
    } catch (error) {
      if (app.fail(error)) signedOut();
      else if (ticket === asked) replace(problems, errorBox(error.message));
    }
  };
  search.addEventListener("input", debounce(ask, 250));
  search.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    ask();
  });
  show(people || [], "");
  if (!people) ask();
  const element = field(label, select, hint);
  element.insertBefore(search, select);
  element.append(found, problems);
  return { element, select };
}

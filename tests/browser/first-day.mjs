// A freshly bootstrapped workspace on the People page (served by the api at `/`), in Debian's
// Chromium: its owner, alone in it, signs in and is shown the next step, inviting people.
//   node first-day.mjs '<json settings>'
// and prints one JSON object of what it saw, for a Rust test to judge. Settings: chromium (path),
// url (the api's origin), workspaceSlug, email and password (the owner's), screenshot (optional:
// where to write a PNG of the page with the next step showing). It opens the invite form from
// the next step and closes it again: no one is invited; then, given inviteEmail, invites that
// address through it (as a MEMBER).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const settings = JSON.parse(process.argv[2]);
const browser = await chromium.launch({ executablePath: settings.chromium, args: ["--no-sandbox"] });
const seen = {
  members: [],
  nextStepShown: false,
  nextStepText: null,
  inviteFormOpenedByButton: false,
  membersAfterEscape: null,
  membersAfterInvite: null,
  nextStepAfterInvite: null,
  axeViolations: [],
  consoleErrors: [],
  error: null,
};

async function open(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on("console", (message) => {
    if (message.type() === "error") seen.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => seen.consoleErrors.push(String(error)));
  return page;
}

/// Signs in through the page's own form, and waits for the member list to settle.
async function signIn(page) {
  await page.goto(`${settings.url}/`);
  await page.getByLabel("Workspace").fill(settings.workspaceSlug);
  await page.getByLabel("Email").fill(settings.email);
  await page.getByLabel("Password").fill(settings.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForSelector("table.people, #content .empty");
  await page.waitForSelector('.list[aria-busy="false"]');
}

try {
  const owner = await open();
  await signIn(owner);
  seen.members = await owner.$$eval("table.people tbody tr", (trs) => trs.map((tr) => tr.dataset.email));
  const panel = owner.locator("#next-step");
  seen.nextStepShown = await panel.isVisible();
  if (seen.nextStepShown) {
    seen.nextStepText = (await panel.innerText()).replace(/\s+/g, " ").trim();
  }
  if (settings.screenshot) await owner.screenshot({ path: settings.screenshot, fullPage: true });

  // axe-core's WCAG 2 A/AA and best-practice rules on the page as it is, in a context of its own
  // (injecting axe needs the page's policy lifted, which the walk here keeps).
  const axe = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  const audited = await open({ bypassCSP: true });
  await signIn(audited);
  await audited.addScriptTag({ content: axe });
  const violations = await audited.evaluate(async () => (await window.axe.run(document, { runOnly: ["wcag2a", "wcag2aa", "best-practice"] })).violations);
  seen.axeViolations = violations.map((violation) => violation.id);
  await audited.context().close();

  // The next step's button opens the invite form, its email field focused; closed unsent.
  if (seen.nextStepShown) {
    await panel.getByRole("button", { name: "Invite people" }).click();
    const email = owner.locator('dialog textarea[name="emails"]');
    await email.waitFor({ state: "visible" });
    seen.inviteFormOpenedByButton = await email.evaluate((input) => document.activeElement === input);
    await owner.keyboard.press("Escape");
    await owner.waitForSelector("dialog", { state: "detached" });
    seen.membersAfterEscape = await owner.$$eval("table.people tbody tr", (trs) => trs.map((tr) => tr.dataset.email));
    // Then, if asked, invites someone through it for real: the list shows them, the step goes.
    if (settings.inviteEmail) {
      await panel.getByRole("button", { name: "Invite people" }).click();
      await owner.locator('dialog textarea[name="emails"]').fill(settings.inviteEmail);
      await owner.locator('dialog select[name="role"]').selectOption("MEMBER");
      await owner.getByRole("button", { name: "Send invitations" }).click();
      await owner.waitForSelector("dialog", { state: "detached" });
      await owner.waitForSelector(`table.people tbody tr[data-email="${settings.inviteEmail}"]`);
      seen.membersAfterInvite = await owner.$$eval("table.people tbody tr", (trs) => trs.map((tr) => tr.dataset.email));
      seen.nextStepAfterInvite = await owner.locator("#next-step").isVisible();
    }
  }
} catch (error) {
  seen.error = String(error.stack || error);
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));

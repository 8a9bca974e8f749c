// Drives Debian's Chromium (playwright-core, no downloaded browser) for the integration suite:
//   node check.mjs '<json settings>'
// and prints one JSON object of what it saw; the Rust test (tests/tests/integration/browser.rs)
// judges it. Settings: chromium (path), api (the API's origin), token, workspaceId, userId (a
// member to remove), allowedOrigin and otherOrigin (each serving /page.html). Last, both
// origins try to read GraphiQL's page and the demo token in it.
import { chromium } from "playwright-core";

const settings = JSON.parse(process.argv[2]);
const browser = await chromium.launch({
  executablePath: settings.chromium,
  args: ["--no-sandbox"],
});
const seen = {};

try {
  // 1. GraphiQL as a newcomer opens it: every request it makes, its console, the schema it
  //    fetched, and the prefilled query run from the Execute button.
  {
    const page = await browser.newPage();
    const requests = [];
    const consoleErrors = [];
    let introspection = null;
    page.on("request", (request) => requests.push(request.url()));
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    page.on("response", async (response) => {
      const body = response.request().postData() || "";
      if (body.includes("IntrospectionQuery")) {
        introspection = { status: response.status(), body: await response.text() };
      }
    });
    // Tabs a browser kept from before: from GraphiQL without per-database keys, and from a
    // database since recreated (both holding a query about a workspace that is gone), beside
    // the People page's own key.
    await page.addInitScript(() => {
      const stale = JSON.stringify({
        tabs: [{ id: "old", hash: null, title: "Old", query: "{ staleTabMarker }" }],
        activeTabIndex: 0,
      });
      localStorage.setItem("graphiql:tabState", stale);
      localStorage.setItem("offboarding-graphiql:0123456789abcdef:tabState", stale);
      localStorage.setItem("offboarding.workspace", "acme-marketing");
    });
    await page.goto(`${settings.api}/graphql`, { waitUntil: "networkidle" });
    await page.waitForSelector(".graphiql-container", { timeout: 20000 });
    const storage = await page.evaluate(() => ({
      namespace: JSON.parse(document.getElementById("graphiql-config").textContent).storageNamespace,
      keys: Object.keys(localStorage),
      editor: document.querySelector(".graphiql-query-editor")?.textContent || "",
    }));
    await page.waitForFunction(() => document.querySelector(".graphiql-execute-button"), null, { timeout: 20000 });
    await page.click(".graphiql-execute-button");
    await page.waitForFunction(
      () => (document.querySelector(".result-window")?.textContent || "").includes("totalCount"),
      null,
      { timeout: 20000 },
    );
    // Docs: the explorer lists the root types once the schema is in.
    await page.click('[aria-label="Show Documentation Explorer"]');
    await page.waitForFunction(
      () => (document.querySelector(".graphiql-doc-explorer")?.textContent || "").includes("Query"),
      null,
      { timeout: 20000 },
    );
    // Autocomplete: type in the query editor and wait for a hint naming a root field.
    await page.click(".graphiql-query-editor .CodeMirror");
    await page.keyboard.press("Control+A");
    await page.keyboard.type("{ remov");
    let hints = [];
    try {
      await page.waitForSelector(".CodeMirror-hints", { timeout: 10000 });
      hints = await page.$$eval(".CodeMirror-hint", (items) => items.map((item) => item.textContent));
    } catch (error) {
      hints = [];
    }
    seen.graphiql = {
      requests,
      consoleErrors,
      introspection,
      result: await page.textContent(".result-window"),
      docs: await page.textContent(".graphiql-doc-explorer"),
      errorShown: (await page.content()).includes("Error fetching schema"),
      hints,
      storage: { ...storage, keysAfter: await page.evaluate(() => Object.keys(localStorage)) },
    };
    await page.close();
  }

  // 2. A SPA on another origin: list the members, remove one and undo it, with fetch and a
  //    bearer token — from an allowed origin, then from one that isn't.
  const spa = async (origin, remove) => {
    const page = await browser.newPage();
    await page.goto(`${origin}/page.html`);
    const outcome = await page.evaluate(
      async ({ api, token, workspaceId, userId, remove }) => {
        const call = async (query, variables) => {
          const response = await fetch(`${api}/graphql`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
            body: JSON.stringify({ query, variables }),
          });
          return response.json();
        };
        try {
          const listed = await call(
            "query($ws: UUID!) { members(workspaceId: $ws, first: 100) { totalCount } }",
            { ws: workspaceId },
          );
          let removed = null;
          if (remove) {
            removed = await call(
              "mutation($input: RemoveMembersInput!) { removeMembers(input: $input) { removedMembers { member { id removedAt } } offboarding { id } userErrors { code } } }",
              { input: { workspaceId, userIds: [userId] } },
            );
          }
          // The People page's "Undo": find the person among the removed, and restore them.
          let undone = null;
          if (remove && removed?.data?.removeMembers?.userErrors?.length === 0) {
            const out = await call(
              "query($ws: UUID!) { removedMembers(workspaceId: $ws) { nodes { user { id } canRestore restorableUntil } } }",
              { ws: workspaceId },
            );
            const restored = await call(
              "mutation($input: RestoreMemberInput!) { restoreMember(input: $input) { member { status } userErrors { code } } }",
              { input: { workspaceId, userId } },
            );
            undone = { out, restored };
          }
          return { ok: true, listed, removed, undone };
        } catch (error) {
          return { ok: false, error: String(error) };
        }
      },
      { api: settings.api, token: settings.token, workspaceId: settings.workspaceId, userId: settings.userId, remove },
    );
    await page.close();
    return outcome;
  };
  seen.otherOrigin = await spa(settings.otherOrigin, true);
  seen.allowedOrigin = await spa(settings.allowedOrigin, true);

  // 3. The removal's progress, as a subscription from GraphiQL over its WebSocket.
  const offboardingId = seen.allowedOrigin?.removed?.data?.removeMembers?.offboarding?.id;
  if (offboardingId) {
    const page = await browser.newPage();
    const consoleErrors = [];
    const sockets = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("websocket", (socket) => sockets.push(socket.url()));
    await page.goto(`${settings.api}/graphql`, { waitUntil: "networkidle" });
    await page.waitForSelector(".graphiql-query-editor .CodeMirror", { timeout: 20000 });
    await page.evaluate((id) => {
      document.querySelector(".graphiql-query-editor .CodeMirror").CodeMirror.setValue(
        `subscription Progress { offboardingProgress(id: "${id}") { kind status offboardingStatus } }`,
      );
    }, offboardingId);
    // GraphiQL reads the operation's name from the editor a moment after a change.
    await page.waitForTimeout(1000);
    await page.click(".graphiql-execute-button");
    try {
      await page.waitForFunction(
        () => (document.querySelector(".result-window")?.textContent || "").includes("offboardingStatus"),
        null,
        { timeout: 20000 },
      );
    } catch (error) {
      consoleErrors.push(`no progress shown: ${error.message.split("\n")[0]}`);
    }
    const result = await page.textContent(".result-window");
    seen.subscription = { sockets, consoleErrors, result };
    await page.close();
  }

  // 4. The demo owner's token, which GraphiQL's page carries for a browser on this machine:
  //    a page on another origin, allowed by CORS or not, tries to read that page (as fetch
  //    asks for it, and as a no-cors fetch would) and the token in it.
  const steal = async (origin) => {
    const page = await browser.newPage();
    await page.goto(`${origin}/page.html`);
    const outcome = await page.evaluate(
      async ({ api, token }) => {
        const tries = {};
        for (const [name, init] of [
          ["cors", { headers: { Accept: "text/html" } }],
          ["noCors", { mode: "no-cors" }],
        ]) {
          try {
            const response = await fetch(`${api}/graphql`, init);
            const text = await response.text();
            tries[name] = { read: true, status: response.status, sawToken: text.includes(token) };
          } catch (error) {
            tries[name] = { read: false, error: String(error) };
          }
        }
        return tries;
      },
      { api: settings.api, token: settings.token },
    );
    await page.close();
    return outcome;
  };
  seen.tokenFrom = {
    allowedOrigin: await steal(settings.allowedOrigin),
    otherOrigin: await steal(settings.otherOrigin),
  };
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));

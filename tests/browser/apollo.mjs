// Apollo Client, with client awareness, calling the API from a page on another origin in
// Debian's Chromium: the browser sends a real CORS preflight for its headers.
//   node apollo.mjs '<json settings>'
// Settings: chromium, api, token, workspaceId, origin (an allowed origin serving /page.html),
// allowedHeader (named in CORS_ALLOWED_HEADERS) and unlistedHeader (named nowhere). Prints one
// JSON object; the Rust test (tests/tests/integration/browser.rs) judges it.
import { build } from "esbuild";
import { chromium } from "playwright-core";

const settings = JSON.parse(process.argv[2]);
const bundle = await build({
  entryPoints: [new URL("apollo-spa.js", import.meta.url).pathname],
  bundle: true,
  write: false,
  format: "iife",
  minify: true,
  define: { "process.env.NODE_ENV": '"production"' },
});
const browser = await chromium.launch({
  executablePath: settings.chromium,
  args: ["--no-sandbox"],
});
const seen = { sent: [] };
try {
  const page = await browser.newPage();
  page.on("request", async (request) => {
    if (request.url().startsWith(`${settings.api}/graphql`)) {
      seen.sent.push({ method: request.method(), headers: await request.allHeaders() });
    }
  });
  await page.goto(`${settings.origin}/page.html`);
  await page.addScriptTag({ content: bundle.outputFiles[0].text });
  const ask = (headers) =>
    page.evaluate((options) => window.askApollo(options), {
      api: settings.api,
      token: settings.token,
      workspaceId: settings.workspaceId,
      headers,
    });
  seen.plain = await ask({});
  seen.allowedHeader = await ask({ [settings.allowedHeader]: "acme" });
  seen.unlistedHeader = await ask({ [settings.unlistedHeader]: "acme" });
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));

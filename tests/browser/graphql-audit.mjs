// The independent GraphQL-over-HTTP conformance audit (graphql-http's serverAudits, the one
// graphql-yoga, Apollo Server and Hasura are measured by), run against the API:
//   node graphql-audit.mjs '<json settings>'
// Settings: api (the API's origin). Prints one JSON object: every audit's id, name, status and,
// when not ok, its reason; the Rust test (tests/tests/integration/http_conformance.rs) judges it.
import { auditServer } from "graphql-http";

const settings = JSON.parse(process.argv[2]);
const results = await auditServer({ url: `${settings.api}/graphql` });
console.log(
  JSON.stringify({
    audits: results.map((result) => ({
      id: result.id,
      name: result.name,
      status: result.status,
      ...(result.status === "ok" ? {} : { reason: result.reason }),
    })),
  }),
);

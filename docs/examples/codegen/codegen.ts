// GraphQL Code Generator for a typed TypeScript client of the offboarding API. From this folder
// of a clone: `npm ci && npm run codegen && npm run check`. In your own project, copy this file
// and point `schema` at your copy of schema.graphql, or at a running API.
// The schema can be this repository's schema.graphql (always the schema the code serves) or
// the running API's URL (introspection works at the default limits while it is enabled).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../../schema.graphql", // or "http://127.0.0.1:8080/graphql"
  documents: ["src/**/*.ts", "!src/gql/**"],
  generates: {
    "src/gql/": {
      preset: "client",
      config: {
        // The API's scalars all travel as JSON strings (JSON: any JSON value).
        scalars: {
          UUID: "string",
          DateTime: "string",
          JSON: "unknown",
        },
        enumsAsTypes: true,
      },
    },
  },
};

export default config;

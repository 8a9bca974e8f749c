// GraphQL Code Generator for a TypeScript client of the offboarding API.
//   npm i -D @graphql-codegen/cli @graphql-codegen/client-preset
//   npx graphql-codegen --config codegen.ts
// The schema can be this repository's schema.graphql (always the schema the code serves) or
// the running API's URL (introspection works at the default limits while it is enabled).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../offboarding/schema.graphql", // or "http://127.0.0.1:8080/graphql"
  documents: ["src/**/*.{ts,tsx}"],
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

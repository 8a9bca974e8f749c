// A SPA's GraphQL client as it ships: Apollo Client with client awareness (its
// `apollographql-client-name`/`-version` headers), bundled by apollo.mjs with esbuild and run in
// a page on another origin. `window.askApollo(settings)` runs one query and returns what came.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

window.askApollo = async ({ api, token, workspaceId, headers }) => {
  const client = new ApolloClient({
    link: new HttpLink({
      uri: `${api}/graphql`,
      headers: { authorization: `Bearer ${token}`, ...headers },
    }),
    cache: new InMemoryCache(),
    clientAwareness: { name: "people-spa", version: "1.4.2" },
  });
  try {
    const result = await client.query({
      query: gql`
        query Members($workspaceId: UUID!) {
          members(workspaceId: $workspaceId, first: 5) {
            totalCount
          }
        }
      `,
      variables: { workspaceId },
    });
    return { data: result.data };
  } catch (error) {
    return { error: String(error) };
  }
};

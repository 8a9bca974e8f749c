// What a People page does first, typed end to end: list the active members, preview a removal
// and remove. `graphql()` (generated in ./gql from the documents below) gives each operation
// its result and variables types; `run` sends one to the API.
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

import { graphql } from "./gql";

export const Members = graphql(`
  query Members($workspaceId: UUID!, $first: Int) {
    members(workspaceId: $workspaceId, first: $first) {
      totalCount
      nodes {
        id
        role
        status
        user {
          id
          name
          email
        }
      }
    }
  }
`);

export const RemovalPreview = graphql(`
  query RemovalPreview($workspaceId: UUID!, $userIds: [UUID!]!) {
    removalPreview(workspaceId: $workspaceId, userIds: $userIds) {
      canRemove
    }
  }
`);

export const RemoveMembers = graphql(`
  mutation RemoveMembers($input: RemoveMembersInput!) {
    removeMembers(input: $input) {
      offboarding {
        id
        status
      }
      userErrors {
        code
        message
      }
    }
  }
`);

/** Sends one operation to the API as `token` and returns its data, or throws its errors. */
export async function run<Result, Variables>(
  api: string,
  token: string,
  document: TypedDocumentNode<Result, Variables>,
  variables: Variables,
): Promise<Result> {
  const response = await fetch(`${api}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: print(document), variables }),
  });
  const body = (await response.json()) as { data?: Result; errors?: { message: string }[] };
  if (body.errors?.length || body.data === undefined) {
    throw new Error(body.errors?.map((error) => error.message).join(" ") ?? `HTTP ${response.status}`);
  }
  return body.data;
}

/** Removes everyone who is active but not in `keep`, if the preview says it can. */
export async function removeAllBut(
  api: string,
  token: string,
  workspaceId: string,
  keep: string[],
): Promise<string | null> {
  const { members } = await run(api, token, Members, { workspaceId, first: 100 });
  const userIds = members.nodes
    .filter((member) => member.status === "ACTIVE" && !keep.includes(member.user.email))
    .map((member) => member.user.id);
  const preview = await run(api, token, RemovalPreview, { workspaceId, userIds });
  if (!preview.removalPreview.canRemove) {
    return null;
  }
  const { removeMembers } = await run(api, token, RemoveMembers, {
    input: { workspaceId, userIds, reason: "Reorganisation" },
  });
  if (removeMembers.userErrors.length > 0) {
    throw new Error(removeMembers.userErrors.map((error) => error.message).join(" "));
  }
  return removeMembers.offboarding?.id ?? null;
}

// The page's one door to the service: the public GraphQL API over fetch, and its subscriptions
// over WebSocket (graphql-transport-ws), with the same token rules as any SPA: a session token
// from signIn, kept for this tab only (sessionStorage), sent as a bearer token.

const TOKEN_KEY = "offboarding.session";

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/// The token is no longer accepted: signed out, expired, or the person's access was removed.
export class Unauthenticated extends Error {}

/// Anything else that kept an answer from coming: the network, or an error the API reported.
export class RequestFailed extends Error {}

/// Runs one operation and returns its `data`. UNAUTHENTICATED forgets the token and throws
/// `Unauthenticated`; other errors throw `RequestFailed` with a message for people.
export async function gql(query, variables = {}) {
  const headers = { "content-type": "application/json" };
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  let response;
  try {
    // Relative to the page, so it works under a path prefix too.
    response = await fetch("graphql", {
      method: "POST",
      headers,
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new RequestFailed("The service can't be reached. Check your connection and try again.");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new RequestFailed(`The service answered with an error (HTTP ${response.status}). Try again.`);
  }
  const errors = body.errors || [];
  if (errors.some((error) => error.extensions?.code === "UNAUTHENTICATED")) {
    session.clear();
    throw new Unauthenticated(errors[0].message);
  }
  if (errors.length > 0) {
    throw new RequestFailed(errors.map((error) => error.message).join(" "));
  }
  return body.data;
}

/// Follows a subscription: `onEvent(data)` for each event, `onEnd()` when the server completes
/// it, `onError(error)` if it fails. Returns a function that stops it.
export function subscribe(query, variables, { onEvent, onEnd, onError }) {
  const url = new URL("graphql/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.hash = "";
  const socket = new WebSocket(url, "graphql-transport-ws");
  let finished = false;
  const finish = (callback, value) => {
    if (finished) return;
    finished = true;
    socket.close();
    callback?.(value);
  };
  socket.addEventListener("open", () => {
    socket.send(
      JSON.stringify({
        type: "connection_init",
        payload: { Authorization: `Bearer ${session.token}` },
      }),
    );
  });
  socket.addEventListener("message", (message) => {
    const frame = JSON.parse(message.data);
    switch (frame.type) {
      case "connection_ack":
        socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
        break;
      case "ping":
        socket.send(JSON.stringify({ type: "pong" }));
        break;
      case "next":
        if (frame.payload.errors?.length) {
          const unauthenticated = frame.payload.errors.some(
            (error) => error.extensions?.code === "UNAUTHENTICATED",
          );
          const message = frame.payload.errors.map((error) => error.message).join(" ");
          finish(onError, unauthenticated ? new Unauthenticated(message) : new RequestFailed(message));
        } else {
          onEvent(frame.payload.data);
        }
        break;
      case "error":
        finish(onError, new RequestFailed(frame.payload.map((error) => error.message).join(" ")));
        break;
      case "complete":
        finish(onEnd);
        break;
    }
  });
  socket.addEventListener("close", () => finish(onError, new RequestFailed("The live connection closed.")));
  socket.addEventListener("error", () => finish(onError, new RequestFailed("The live connection failed.")));
  return () => finish(undefined);
}

/// Idempotency for one action (a dialog, a button): `withKey(input)` returns the input with an
/// idempotency key — the same key again while the input is the same, so a retry after a failure
/// the server may already have applied is not applied twice, and a new one when it changes.
export function idempotent() {
  let input = null;
  let key = null;
  return (next) => {
    const text = JSON.stringify(next);
    if (text !== input) {
      input = text;
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      key = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
    }
    return { ...next, idempotencyKey: key };
  };
}

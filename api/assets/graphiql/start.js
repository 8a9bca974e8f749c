// Renders GraphiQL with the settings the server wrote into the page (a JSON block, so the page
// needs no inline script and its Content-Security-Policy can forbid them).
(function () {
  var config = JSON.parse(document.getElementById("graphiql-config").textContent);
  function absolute(path, websocket) {
    var url = new URL(path, window.location.href);
    if (websocket) {
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    }
    return url.toString();
  }
  var fetcher = GraphiQL.createFetcher({
    url: absolute(config.endpoint, false),
    subscriptionUrl: absolute(config.subscriptionEndpoint, true),
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: config.query,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    })
  );
})();

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
  // Saved tabs are kept per database (the server names it): after the database is recreated,
  // old tabs would hold workspace ids nobody can reach. Other databases' tabs, and those saved
  // before tabs were kept per database (plain "graphiql:" keys), are deleted.
  var namespace = "offboarding-graphiql:" + config.storageNamespace;
  Object.keys(localStorage).forEach(function (key) {
    var stale = key.indexOf("graphiql:") === 0 ||
      (key.indexOf("offboarding-graphiql:") === 0 && key.indexOf(namespace + ":") !== 0);
    if (stale) {
      localStorage.removeItem(key);
    }
  });
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      storage: GraphiQL.createLocalStorage({ namespace: namespace }),
      defaultQuery: config.query,
      defaultHeaders: config.headers,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    })
  );
})();

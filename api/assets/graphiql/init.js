// Mounts GraphiQL on this server's /graphql. A file of its own, not an inline script, so the
// page's Content-Security-Policy allows scripts from this server only.
(function () {
  'use strict';

  var mount = document.getElementById('graphiql');

  // GraphiQL's dialogs add a <style> element (to stop the page scrolling behind them) and give
  // it webpack's nonce global when there is one; the page's policy allows inline styles
  // carrying this page's nonce and no others.
  window.__webpack_nonce__ = mount.dataset.styleNonce;

  var url = new URL('/graphql', window.location.href);
  var socket = new URL(url.href);
  socket.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';

  // Queries and mutations go by POST with the Headers tab's headers. A subscription opens a
  // WebSocket (graphql-transport-ws) and sends the Headers tab's headers as connection_init's
  // payload, so {"Authorization": "Bearer <token>"} signs in both.
  var fetcher = GraphiQL.createFetcher({
    url: url.href,
    subscriptionUrl: socket.href,
  });

  var defaultQuery = [
    '# Patchwork, development server.',
    '#',
    '# Sign in: fill in the login mutation below and run it (the play button),',
    '# then open the Headers tab below and paste the access token it answers:',
    '#',
    '#   {"Authorization": "Bearer <accessToken>"}',
    '#',
    '# Queries, mutations and subscriptions then run as you. An access token',
    '# lasts 15 minutes by default; refresh(refreshToken:) gives a new pair.',
    '',
    'mutation SignIn {',
    '  login(email: "", password: "") {',
    '    accessToken',
    '    refreshToken',
    '  }',
    '}',
    '',
    'query Me {',
    '  me {',
    '    displayName',
    '    role',
    '    agency {',
    '      name',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(mount).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();

// Patchwork's service worker: keeps the shell so the app opens offline. It never caches
// the API (/graphql) or the session endpoints (/web/session*), nor any page with a token.
const CACHE = 'patchwork-shell-v1';
const SHELL = ['/', '/web/app.js', '/web/app.css', '/web/manifest.webmanifest', '/web/icon.svg'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'no-cache' }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function neverCached(url) {
  return url.pathname === '/graphql' || url.pathname.startsWith('/graphql/')
    || url.pathname.startsWith('/web/session') || url.pathname === '/unsubscribe';
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || neverCached(url)) return;

  if (request.mode === 'navigate') {
    // Network first (the server answers the shell for every screen); the cached shell offline.
    event.respondWith(
      fetch(request).catch(() => caches.open(CACHE).then((cache) => cache.match('/'))
        .then((hit) => hit || new Response('Offline', { status: 503, headers: { 'Content-Type': 'text/plain' } }))),
    );
    return;
  }

  if (SHELL.includes(url.pathname) && url.search === '') {
    // Network first so a new build is picked up at once; the cached copy when offline.
    event.respondWith(
      fetch(request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(url.pathname, copy));
        }
        return response;
      }).catch(() => caches.open(CACHE).then((cache) => cache.match(url.pathname))
        .then((hit) => hit || Response.error())),
    );
  }
});

// The crew tablet's service worker (served by dispatch.views.tablet_service_worker at
// /dispatch/tablet/sw.js, so its scope is /dispatch/tablet/ and it controls the tablet page).
//
// The page's shell and its static files are cached at install so the tablet reloads with no
// network; the outbox and the patient record live in localStorage and come back with it.
// - the page HTML is network-first: online, the server answers (a logged-out user gets the
//   login redirect, and the cached copy is then dropped); offline, the last good copy is used;
// - static files are cache-first (the cache's name changes with their content, so a new
//   release installs a new worker and a fresh copy); the map data is network-first;
// - nothing else is touched: API and WebSocket answers (patient data) never enter the cache.
"use strict";
const CACHE = "gh-tablet-{{ version }}";
const PAGE = "{{ page_url }}";
const ASSETS = {{ assets|safe }};
// The road graph and places change when the map is rebuilt: fetched fresh when online.
const MAP_DATA = {{ map_data|safe }};

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(CACHE)
      .then(function (cache) {
        // The page that registered the worker loaded before it: fetch a copy of it now.
        return cache.addAll(ASSETS.concat(MAP_DATA)).then(function () {
          return fetch(PAGE, { credentials: "same-origin" }).then(function (response) {
            return keepPage(cache, response);
          }, function () { /* offline at install: the next online visit keeps it */ });
        });
      })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys()
      .then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("gh-tablet-") === 0 && name !== CACHE;
        }).map(function (name) { return caches.delete(name); }));
      })
      .then(function () { return self.clients.claim(); })
  );
});

function isPage(request, url) {
  return request.mode === "navigate" && url.pathname === PAGE;
}

// Only the crew's own page is kept: a redirect (logged out) or an error drops the copy.
function keepPage(cache, response) {
  if (response.ok && !response.redirected && response.type === "basic") {
    return cache.put(PAGE, response.clone());
  }
  return cache.delete(PAGE);
}

function pageNetworkFirst(request) {
  return fetch(request).then(function (response) {
    return caches.open(CACHE).then(function (cache) {
      return keepPage(cache, response).then(function () { return response; });
    });
  }, function () {
    return caches.open(CACHE).then(function (cache) { return cache.match(PAGE); })
      .then(function (cached) {
        return cached || new Response(
          "<!doctype html><meta charset=utf-8><title>Offline</title><p>Offline: this tablet has no saved copy of the crew screen yet.</p>",
          { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
        );
      });
  });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (isPage(request, url)) {
    event.respondWith(pageNetworkFirst(request));
    return;
  }
  if (MAP_DATA.indexOf(url.pathname) !== -1) {
    event.respondWith(fetch(request).then(function (response) {
      if (!response.ok) return response;
      return caches.open(CACHE).then(function (cache) {
        return cache.put(url.pathname, response.clone()).then(function () { return response; });
      });
    }, function () {
      return caches.open(CACHE).then(function (cache) { return cache.match(url.pathname); })
        .then(function (cached) { return cached || Response.error(); });
    }));
    return;
  }
  if (ASSETS.indexOf(url.pathname) === -1) return;
  event.respondWith(
    caches.open(CACHE).then(function (cache) {
      return cache.match(url.pathname).then(function (cached) {
        if (cached) return cached;
        return fetch(request).then(function (response) {
          if (response.ok) cache.put(url.pathname, response.clone());
          return response;
        });
      });
    })
  );
});

// The field app's service worker (served from /app/sw.js, scope /app/).
// It precaches the app shell under a versioned cache so the app opens with no network, and
// answers the shell from that cache. API calls are never cached or answered here: the app's
// outbox decides what to do when the network is gone.
"use strict";

const VERSION = "{{ version }}";
const CACHE = "fieldapp-" + VERSION;
const SHELL = {{ shell_json|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, {cache: "reload"}))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((key) => key.startsWith("fieldapp-") && key !== CACHE)
          .map((key) => caches.delete(key))
      ))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) { return; }
  if (request.mode === "navigate" && url.pathname.startsWith("/app/")) {
    // Every page of the app is the one shell (screens are chosen by the URL's #fragment).
    event.respondWith(
      caches.open(CACHE).then((cache) => cache.match("/app/"))
        .then((hit) => hit || fetch(request))
    );
    return;
  }
  if (SHELL.includes(url.pathname)) {
    event.respondWith(
      caches.open(CACHE).then((cache) => cache.match(url.pathname))
        .then((hit) => hit || fetch(request))
    );
  }
});

// The duty pages' service worker (monitor/inspections/offline/web.py): it keeps the round
// pages and their scripts, so a round page opened once still opens without a network. Pages
// are asked of the server first (what it says is always newer) and kept; the copy answers
// only when the server cannot be reached. Nothing else is kept: not the photos, not the other
// pages, not a sign-in redirect. Signing out forgets every kept page.
"use strict";
const CACHE = "trunkwatch-rounds-v1";
const SCRIPTS = ["/inspections/offline.js", "/inspections/photos.js"];

function kept(url) {
  if (url.origin !== self.location.origin || url.search) return false;
  if (SCRIPTS.includes(url.pathname)) return true;
  // A round page, /inspections/rounds/<id>: not its photos, not its sync endpoint.
  return /^\/inspections\/rounds\/[^/]+$/.test(url.pathname);
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SCRIPTS))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method === "POST" && url.pathname === "/inspections/logout") {
    event.waitUntil(caches.delete(CACHE));
    return;
  }
  if (request.method !== "GET" || !kept(url)) return;
  event.respondWith(
    fetch(request).then(
      (response) => {
        if (response.ok && !response.redirected && response.type === "basic") {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(url.pathname, copy)));
        }
        return response;
      },
      () => caches.match(url.pathname).then((hit) => hit || Response.error()),
    ),
  );
});

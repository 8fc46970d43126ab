/* Service worker of the check-in tablet app (served at /checkin/sw.js, scope /checkin/).
   Caches the app shell and its assets so that the app opens without network. The data
   (roster, queued scans) lives in IndexedDB; /api/ requests are never cached here. */
"use strict";

const VERSION = "__VERSION__";
const CACHE = `rsb-checkin-${VERSION}`;
const ASSETS = [
  "/static/checkin/app.js",
  "/static/checkin/app.css",
  "/static/checkin/decoder.js",
  "/static/vendor/jsqr/jsQR.js",
];
const SHELL = /^\/checkin\/\d+\/?$/;
const NETWORK_TIMEOUT_MS = 3000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(ASSETS.map((url) => new Request(url, { cache: "reload" })));
      // The pages already open (the one that registered us) go into the cache too.
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        const path = new URL(client.url).pathname;
        if (SHELL.test(path)) await cacheShell(cache, path);
      }
      await self.skipWaiting();
    })()
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const keys = await caches.keys();
      const old = keys.filter((key) => key.startsWith("rsb-checkin-") && key !== CACHE);
      const current = await caches.open(CACHE);
      for (const key of old) {
        // Keep the shells already visited (they are fetched again when online).
        const previous = await caches.open(key);
        for (const request of await previous.keys()) {
          const path = new URL(request.url).pathname;
          if (SHELL.test(path) && !(await current.match(path))) {
            const response = await previous.match(request);
            if (response) await current.put(path, response);
          }
        }
        await caches.delete(key);
      }
      await self.clients.claim();
    })()
  );
});

async function cacheShell(cache, path) {
  try {
    const response = await fetch(path, { credentials: "same-origin", cache: "no-store" });
    if (response.ok) await cache.put(path, response);
  } catch (error) {
    /* offline: the next visit will do it */
  }
}

self.addEventListener("message", (event) => {
  const path = event.data && event.data.cacheShell;
  if (typeof path === "string" && SHELL.test(path)) {
    event.waitUntil(caches.open(CACHE).then((cache) => cacheShell(cache, path)));
  }
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

async function shell(request) {
  const path = new URL(request.url).pathname;
  const cache = await caches.open(CACHE);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    if (response.ok) await cache.put(path, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(path);
    if (cached) {
      const headers = new Headers(cached.headers);
      headers.set("X-Checkin-Cache", "hit");
      return new Response(cached.body, { status: cached.status, headers });
    }
    return new Response(
      "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Hors ligne</title>" +
        "<p>Hors ligne : ouvrez cette page une première fois avec une connexion.</p></html>",
      { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } }
    );
  }
}

async function asset(request) {
  const path = new URL(request.url).pathname;
  const cache = await caches.open(CACHE);
  const cached = await cache.match(path);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(path, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate" && SHELL.test(url.pathname)) {
    event.respondWith(shell(request));
  } else if (ASSETS.includes(url.pathname)) {
    event.respondWith(asset(request));
  }
});

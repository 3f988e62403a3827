/* Perkstar card page service worker (served at /sw.js, registered per card with the
 * scope /card/<token>).
 *
 * - push: shows the merchant's message as a notification and tells an open card page to
 *   reload its message list;
 * - notificationclick: opens (or focuses) the card page;
 * - fetch: the card page is network-first; when the network is down (at the counter, in
 *   a basement) it answers with the last saved offline copy of the card, a self-contained
 *   page with the QR code, refreshed every time the page loads online. The live page needs
 *   the server for its data, so a cached copy of it alone would only show a spinner.
 *   Static assets are cached as they are used (stale-while-revalidate).
 */
"use strict";

const CACHE = "perkstar-card-v1";
const CARD_PATH = /^\/card\/([A-Za-z0-9_-]{1,43})\/?$/;
const STATIC_PATH = /^\/(assets|_next|static)\/|\.(js|css|woff2?|png|svg|ico)$/;

function tokenOf(url) {
  const match = CARD_PATH.exec(new URL(url).pathname);
  return match ? match[1] : null;
}

function offlineUrl(token) {
  return `/api/cards/public/${token}/offline.html`;
}

async function saveOfflineCopy(token) {
  try {
    const response = await fetch(offlineUrl(token), { cache: "no-store" });
    if (response.ok) {
      const cache = await caches.open(CACHE);
      await cache.put(offlineUrl(token), response);
    }
  } catch (error) {
    /* offline now: keep the copy we have */
  }
}

self.addEventListener("install", () => self.skipWaiting());

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    await self.clients.claim();
    const token = tokenOf(self.registration.scope);
    if (token) await saveOfflineCopy(token);
  })());
});

self.addEventListener("push", (event) => {
  let message = { title: "Perkstar", body: "" };
  try {
    message = Object.assign(message, event.data ? event.data.json() : {});
  } catch (error) {
    message.body = event.data ? event.data.text() : "";
  }
  event.waitUntil((async () => {
    await self.registration.showNotification(message.title, {
      body: message.body,
      tag: message.tag,
      icon: "/card-icon-192.png",
      badge: "/card-icon-192.png",
      data: { url: message.url || self.registration.scope },
    });
    const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const page of pages) page.postMessage({ type: "perkstar-push" });
  })());
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || self.registration.scope,
                         self.location.origin).href;
  event.waitUntil((async () => {
    const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const page of pages) {
      if (page.url.replace(/\/$/, "") === target.replace(/\/$/, "") && "focus" in page) return page.focus();
    }
    return self.clients.openWindow(target);
  })());
});

async function cardPage(request) {
  const token = tokenOf(request.url);
  try {
    const response = await fetch(request);
    if (token) saveOfflineCopy(token); // not awaited: the page must not wait for it
    return response;
  } catch (error) {
    const cache = await caches.open(CACHE);
    return (token && (await cache.match(offlineUrl(token)))) || Response.error();
  }
}

async function staticAsset(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  const fresh = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  }).catch(() => cached || Response.error());
  return cached || fresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && tokenOf(request.url)) {
    event.respondWith(cardPage(request));
  } else if (STATIC_PATH.test(url.pathname)) {
    event.respondWith(staticAsset(request));
  }
});

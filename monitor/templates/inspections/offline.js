// The round page without a network (monitor/templates/inspections/round.html). Saving or
// signing while off line keeps the round in this tablet's IndexedDB (entries, photos taken,
// and the time it was signed) instead of posting the form; the queue is sent when the
// connection returns (the "online" event, each page load, and retries that back off), photos
// first, then the round to /inspections/rounds/<id>/sync under a key made once for it, so a
// retry never signs twice. A round someone else signed meanwhile is shown as a conflict and
// its entries stay on the page; a session that ended waits for sign-in. The service worker
// (offline-worker.js) keeps this page for when there is no network at all.
"use strict";
(function () {
  const form = document.getElementById("round-form");
  if (!form || !form.dataset.round) return;
  const ROUND = form.dataset.round;
  const PERSON = form.dataset.person;
  const DB = "trunkwatch-offline";
  const STORE = "rounds";
  const MAX_ROUNDS = 20;
  const MAX_DELAY = 60000;
  const network = document.getElementById("network");
  const note = document.getElementById("queued");
  let delay = 2000;
  let timer = null;
  let sending = false;

  // -- the queue: one entry per round, in IndexedDB -----------------------------------------
  function open() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(DB, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "round" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function run(mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  }

  const load = (round) => run("readonly", (s) => s.get(round));
  const loadAll = () => run("readonly", (s) => s.getAll());
  const keep = (entry) => run("readwrite", (s) => s.put(entry));
  const forget = (round) => run("readwrite", (s) => s.delete(round));

  function uuid() {
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // -- the form ------------------------------------------------------------------------------
  function entries() {
    const out = {};
    for (const [name, value] of new FormData(form)) {
      const dot = name.indexOf(".");
      const field = name.slice(0, dot);
      if (dot > 0 && (field === "value" || field === "note")) {
        (out[name.slice(dot + 1)] ||= {})[field] = String(value);
      }
    }
    return out;
  }

  function restore(saved) {
    for (const [item, entry] of Object.entries(saved)) {
      for (const [field, value] of Object.entries(entry)) {
        for (const input of form.querySelectorAll(`[name="${CSS.escape(field + "." + item)}"]`)) {
          if (input.type === "radio") input.checked = input.value === value;
          else input.value = value;
        }
      }
    }
  }

  function time(seconds) {
    return new Date(seconds * 1000).toLocaleString("zh-CN", { hour12: false });
  }

  function say(text, state) {
    note.hidden = !text;
    note.textContent = text || "";
    note.dataset.state = state || "";
  }

  function showNetwork() {
    const online = navigator.onLine;
    network.dataset.state = online ? "online" : "offline";
    network.textContent = online
      ? "在线 Online"
      : "离线 Offline · 保存与签字存于本机，联网后自动发送 / saved and signed on this tablet, sent when back online";
  }

  function describe(entry) {
    if (entry.state === "conflict" || entry.state === "refused") return entry.message;
    if (entry.state === "signed_out") {
      return "登录已过期，请重新登录后发送 / signed out: sign in again to send the round";
    }
    const what = entry.signed_at_client
      ? `已于 ${time(entry.signed_at_client)} 在本机签字 / signed on this tablet`
      : "已保存在本机 / saved on this tablet";
    return `${what}，等待发送 / waiting to be sent`;
  }

  async function queue(sign) {
    const before = await load(ROUND);
    if (!before && (await loadAll()).length >= MAX_ROUNDS) {
      say(`本机已存 ${MAX_ROUNDS} 个待发送巡检，请联网后再填写 / ${MAX_ROUNDS} rounds wait on this tablet: connect before filling in more`, "full");
      return;
    }
    const entry = {
      round: ROUND,
      person: PERSON,
      csrf: form.elements.csrf.value,
      key: uuid(),
      entries: entries(),
      photos: (before && before.photos) || {},
      signed_at_client: sign ? Date.now() / 1000 : null,
      state: "waiting",
      message: "",
    };
    await keep(entry);
    say(describe(entry), entry.state);
    if (sign) for (const button of form.querySelectorAll("button[name=action]")) button.disabled = true;
  }

  // A photo taken off line (photos.js hands it here): kept with the round, uploaded first.
  async function queuePhoto(item, blob) {
    const entry = (await load(ROUND)) || {
      round: ROUND,
      person: PERSON,
      csrf: form.elements.csrf.value,
      key: uuid(),
      entries: entries(),
      photos: {},
      signed_at_client: null,
      state: "waiting",
      message: "",
    };
    (entry.photos[item] ||= []).push({ blob });
    await keep(entry);
    say(describe(entry), entry.state);
  }
  window.trunkwatchOffline = { queuePhoto };

  // -- sending -------------------------------------------------------------------------------
  function token(entry) {
    // A page opened after a new sign-in carries that session's token.
    return entry.person === PERSON ? form.elements.csrf.value : entry.csrf;
  }

  function shown(item) {
    const list = document.getElementById("thumbs-" + item);
    return list ? Array.from(list.querySelectorAll("li[data-sha256]"), (li) => li.dataset.sha256) : [];
  }

  async function uploadPhotos(entry) {
    for (const [item, photos] of Object.entries(entry.photos)) {
      for (const photo of photos) {
        if (photo.sha256) continue;
        const data = new FormData();
        data.append("csrf", token(entry));
        data.append("item", item);
        data.append("photo", photo.blob, "photo.jpg");
        const response = await fetch(`/inspections/rounds/${entry.round}/photos`, {
          method: "POST",
          body: data,
          headers: { Accept: "application/json" },
          credentials: "same-origin",
        });
        if (response.redirected) return 401;
        if (!response.ok) return response.status;
        photo.sha256 = (await response.json()).sha256;
        delete photo.blob;
        await keep(entry);
      }
    }
    return 200;
  }

  async function send(entry) {
    const uploaded = await uploadPhotos(entry);
    if (uploaded !== 200) return { status: uploaded, body: { error: `photo upload: ${uploaded}` } };
    const photos = {};
    for (const [item, list] of Object.entries(entry.photos)) {
      const hashes = list.map((p) => p.sha256);
      if (entry.round === ROUND) hashes.push(...shown(item).filter((h) => !hashes.includes(h)));
      photos[item] = hashes;
    }
    const response = await fetch(`/inspections/rounds/${entry.round}/sync`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({
        key: entry.key,
        filled_by: entry.person,
        entries: entry.entries,
        photos,
        signed_at_client: entry.signed_at_client,
        csrf: token(entry),
      }),
    });
    let body = {};
    try {
      body = await response.json();
    } catch (_) {
      body = { error: `${response.status} ${response.statusText}` };
    }
    return { status: response.status, body };
  }

  async function sendAll() {
    clearTimeout(timer);
    if (sending || !navigator.onLine) return;
    sending = true;
    let retry = false;
    try {
      for (const entry of await loadAll()) {
        if (entry.state === "conflict") continue;
        let result;
        try {
          result = await send(entry);
        } catch (_) {
          retry = true; // the network went away again
          continue;
        }
        const { status, body } = result;
        if (status === 200 || status === 201) {
          await forget(entry.round);
          if (entry.round === ROUND) {
            location.assign(`/inspections/rounds/${ROUND}`);
            return;
          }
          continue;
        }
        if (status >= 500 || status === 429) {
          retry = true;
          continue;
        }
        entry.state = status === 401 ? "signed_out" : status === 409 ? "conflict" : "refused";
        const problems = Object.values(body.problems || {});
        entry.message = problems.length ? `${body.error}: ${problems.join("; ")}` : body.error;
        await keep(entry);
        if (entry.round === ROUND) say(describe(entry), entry.state);
      }
    } finally {
      sending = false;
    }
    if (retry) {
      timer = setTimeout(sendAll, delay);
      delay = Math.min(delay * 2, MAX_DELAY);
    } else {
      delay = 2000;
    }
  }

  // -- wiring --------------------------------------------------------------------------------
  form.addEventListener("submit", (event) => {
    if (navigator.onLine) return;
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "save";
    queue(action === "sign");
  });
  window.addEventListener("online", () => {
    showNetwork();
    sendAll();
  });
  window.addEventListener("offline", showNetwork);
  showNetwork();

  load(ROUND).then((entry) => {
    if (entry) {
      // What was filled in off line stays on the page, conflict or not.
      restore(entry.entries);
      say(describe(entry), entry.state);
      if (entry.signed_at_client) {
        for (const button of form.querySelectorAll("button[name=action]")) button.disabled = true;
      }
    }
    sendAll();
  });

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker
      .register("/inspections/offline-worker.js", { scope: "/inspections/" })
      .then(() => navigator.serviceWorker.ready)
      .then(() => caches.open("trunkwatch-rounds-v1"))
      .then((cache) => cache.add(location.pathname))
      .then(() => {
        network.dataset.kept = "yes";
      })
      .catch(() => {
        network.dataset.kept = "no";
      });
  }
})();

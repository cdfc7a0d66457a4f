// The duty board's live updates: server-sent events replace the parts of the page that
// changed (summary, problems, map, sites), without reloading it. Times are shown in the
// screen's own time zone; a warning turns on when no event arrived for two ticks.
"use strict";
(function () {
  const body = document.body;
  const tick = Number(body.dataset.tick) || 5;
  const time = new Intl.DateTimeFormat("zh-CN", {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  });
  let lastEvent = Date.now();
  let open = location.hash.startsWith("#site-") ? location.hash.slice(1) : "";

  function duration(seconds) {
    const minutes = Math.max(0, Math.round(seconds / 60));
    if (minutes < 120) return minutes + " 分钟 " + minutes + " min";
    const hours = Math.floor(minutes / 60), rest = minutes % 60;
    return hours + " 小时 " + rest + " 分 " + hours + " h " + rest + " min";
  }

  function localise(root) {
    for (const element of root.querySelectorAll("time[data-t]")) {
      const t = Number(element.dataset.t);
      if (t) {
        element.textContent = time.format(new Date(t * 1000));
        element.dateTime = new Date(t * 1000).toISOString();
      }
    }
  }

  function ages() {
    const now = Date.now() / 1000;
    for (const element of document.querySelectorAll(".age[data-since]")) {
      const since = Number(element.dataset.since);
      if (since) element.textContent = duration(now - since);
    }
  }

  // A site opened from its tile or marker stays open across updates (the new tile is not
  // the one the browser targeted).
  function reopen() {
    for (const tile of document.querySelectorAll(".tile.open")) tile.classList.remove("open");
    const tile = open && document.getElementById(open);
    if (tile) tile.classList.add("open");
  }

  function seen(generatedAt) {
    lastEvent = Date.now();
    const updated = document.getElementById("updated-at");
    updated.dataset.t = generatedAt;
    localise(updated.parentElement);
    body.dataset.generated = generatedAt;
    if (body.classList.contains("stale")) {
      body.classList.remove("stale");
      document.getElementById("stale").hidden = true;
    }
  }

  function every_second() {
    document.getElementById("now").textContent = time.format(new Date());
    ages();
    const silent = (Date.now() - lastEvent) / 1000;
    if (silent > 2 * tick) {
      body.classList.add("stale");
      const stale = document.getElementById("stale");
      stale.hidden = false;
      document.getElementById("stale-for").textContent =
        Math.round(silent) + " 秒无更新 no update for " + Math.round(silent) + " s";
    }
  }

  window.addEventListener("hashchange", function () {
    open = location.hash.startsWith("#site-") ? location.hash.slice(1) : "";
    reopen();
  });

  const events = new EventSource(body.dataset.events);
  events.addEventListener("board", function (event) {
    const update = JSON.parse(event.data);
    for (const [id, html] of Object.entries(update.parts)) {
      const part = document.getElementById(id);
      if (part) part.innerHTML = html;
    }
    reopen();
    localise(document);
    ages();
    seen(update.generated_at);
    body.dataset.updates = String(Number(body.dataset.updates || 0) + 1);
  });
  events.addEventListener("tick", function (event) {
    seen(JSON.parse(event.data).generated_at);
  });

  localise(document);
  every_second();
  setInterval(every_second, 1000);
})();

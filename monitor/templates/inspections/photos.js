// The round page's photos (monitor/templates/inspections/round.html): a photo chosen or taken
// with the tablet's camera is scaled here (longest side 1600 px, JPEG) so a few hundred kB
// travel instead of the camera's megabytes, uploaded at once, and shown as a thumbnail; a
// photo is removed the same way. What was typed into the round stays on the page: nothing
// reloads it. Without this script the same forms upload the original, which the server checks,
// scales and strips of its metadata alike (it does so for these uploads too). Off line, a
// photo goes to the round's queue (offline.js) instead.
"use strict";
(function () {
  const MAX_SIDE = 1600;
  const QUALITY = 0.85;

  async function scaled(file) {
    // createImageBitmap turns the picture upright by its EXIF orientation; drawing it on a
    // canvas keeps the pixels only.
    const bitmap = await createImageBitmap(file);
    const ratio = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(bitmap.width * ratio));
    canvas.height = Math.max(1, Math.round(bitmap.height * ratio));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    return new Promise((resolve, reject) => {
      canvas.toBlob(
        (blob) => (blob ? resolve(blob) : reject(new Error("encode"))),
        "image/jpeg",
        QUALITY,
      );
    });
  }

  function say(item, text, failed) {
    const status = document.getElementById("photo-status-" + item);
    status.textContent = text;
    status.classList.toggle("error", Boolean(failed));
  }

  // The server's answer as {error, problems} or the photo; a session that ended is
  // redirected to the sign-in page, which is no answer to this.
  async function answer(response) {
    const type = response.headers.get("Content-Type") || "";
    if (type.startsWith("application/json")) {
      try {
        return await response.json();
      } catch (_) {
        // fall through to the status
      }
    }
    if (response.redirected) {
      return { error: "登录已过期，请重新登录 / signed out: sign in again" };
    }
    return { error: response.status + " " + response.statusText };
  }

  function reason(body) {
    const problems = Object.values(body.problems || {});
    return problems.length ? body.error + ": " + problems.join("; ") : body.error;
  }

  function count(item, delta) {
    const counter = document.getElementById("photo-count-" + item);
    counter.textContent = String(Number(counter.textContent) + delta);
  }

  async function remove(form, item, sha256, entry) {
    const data = new FormData();
    data.append("csrf", form.elements.csrf.value);
    data.append("item", item);
    const response = await fetch(form.action + "/" + sha256 + "/remove", {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await answer(response);
    if (!response.ok || body.error) {
      say(item, reason(body), true);
      return;
    }
    entry.remove();
    count(item, -1);
    say(item, "已删除 Removed", false);
  }

  function show(form, item, photo) {
    const list = document.getElementById("thumbs-" + item);
    const entry = document.getElementById("photo-template").content.firstElementChild.cloneNode(true);
    entry.dataset.sha256 = photo.sha256;
    entry.querySelector("a").href = photo.url;
    const img = entry.querySelector("img");
    img.src = photo.thumbnail;
    img.alt = "照片 photo " + photo.sha256.slice(0, 12);
    img.id = "photo-" + item + "-" + photo.sha256.slice(0, 12);
    entry.querySelector("button").addEventListener("click", () => {
      remove(form, item, photo.sha256, entry);
    });
    list.appendChild(entry);
    count(item, 1);
  }

  async function upload(form, input) {
    const item = form.dataset.item;
    const file = input.files[0];
    if (!file) return;
    say(item, "上传中… Uploading…", false);
    let picture;
    try {
      picture = await scaled(file);
    } catch (_) {
      // A picture this browser cannot draw (HEIC, say) goes as it is: the server says why
      // it cannot take it.
      picture = file;
    }
    if (!navigator.onLine && window.trunkwatchOffline) {
      // Off line: offline.js keeps it with the round and uploads it first when back online.
      await window.trunkwatchOffline.queuePhoto(item, picture);
      const entry = document.createElement("li");
      const img = document.createElement("img");
      img.src = URL.createObjectURL(picture);
      img.alt = "照片（待上传）photo (to upload)";
      entry.appendChild(img);
      document.getElementById("thumbs-" + item).appendChild(entry);
      say(item, "已存于本机，联网后上传 / kept on this tablet, uploaded when back online", false);
      input.value = "";
      return;
    }
    const data = new FormData();
    data.append("csrf", form.elements.csrf.value);
    data.append("item", item);
    data.append("photo", picture, "photo.jpg");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: data,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const body = await answer(response);
      if (!response.ok || body.error) {
        say(item, reason(body), true);
        return;
      }
      if (body.added) show(form, item, body);
      say(item, body.added ? "已上传 Uploaded" : "此照片已在本项 Already shown here", false);
    } catch (error) {
      say(item, "上传失败，请重试 Upload failed, try again (" + error.message + ")", true);
    } finally {
      input.value = "";
    }
  }

  for (const form of document.querySelectorAll("form.photo-upload")) {
    const item = form.dataset.item;
    const input = document.getElementById("camera-" + item);
    document.getElementById("upload-button-" + item).hidden = true;
    input.addEventListener("change", () => upload(form, input));
    for (const entry of document.querySelectorAll("#thumbs-" + CSS.escape(item) + " li")) {
      const button = entry.querySelector("button");
      button.removeAttribute("form");
      button.type = "button";
      button.addEventListener("click", () => remove(form, item, entry.dataset.sha256, entry));
    }
  }
})();

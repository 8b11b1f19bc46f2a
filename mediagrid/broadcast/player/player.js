// The mediagrid player: plays a live HLS stream, shows the app's counters from status.json, and POSTs a QoE
// beacon to /beacon every second. The beacon is how operators see viewers' playback health, and how tests see
// what the browser really shows (?sample=x,y,w,h adds the mean colour of that part of the picture).
(function () {
  "use strict";

  const TICK_MS = 1000;
  const STALE_MS = 3000; // status.json is rewritten about once a second; three missed updates is "stale"
  const MAX_ERRORS = 20; // the first errors are the telling ones; later ones are usually their echoes
  const FIXED_STATUS_KEYS = new Set(["app", "updated_ms", "live"]);

  const params = new URLSearchParams(location.search);
  const src = new URL(params.get("src") || "index.m3u8", location.href);
  const statusUrl = new URL("status.json", src); // the app writes it next to its playlist
  const video = document.getElementById("video");
  const canvas = document.createElement("canvas");
  const errors = [];
  let hls = null;
  let stalls = 0;
  let started = false;
  let lastUpdatedMs = null;
  let lastChangeAt = 0;

  function text(id, value) {
    document.getElementById(id).textContent = value;
  }

  function note(message) {
    if (errors.length >= MAX_ERRORS) return;
    errors.push(message);
    const item = document.createElement("li");
    item.textContent = message;
    document.getElementById("errors").appendChild(item);
  }

  // "x,y,w,h" as fractions of the picture; anything else is reported rather than silently ignored.
  function parseSample(value) {
    if (value === null) return null;
    const box = value.split(",").map(Number);
    const valid = box.length === 4 && box.every((v) => v >= 0 && v <= 1) && box[2] > 0 && box[3] > 0;
    if (!valid) note(`bad ?sample=${value}: expected x,y,w,h as fractions of the picture`);
    return valid ? box : null;
  }
  const sample = parseSample(params.get("sample"));

  // hls.js first even where the browser plays HLS itself: only hls.js exposes PROGRAM-DATE-TIME and DATERANGE.
  function attach() {
    text("source", src.href);
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls();
      hls.on(window.Hls.Events.ERROR, onHlsError);
      hls.loadSource(src.href);
      hls.attachMedia(video);
      text("engine", `hls.js ${window.Hls.version}`);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = src.href;
      text("engine", "native HLS");
    } else {
      note("this browser plays HLS neither natively nor through Media Source Extensions (is hls.js installed?)");
      return;
    }
    video.muted = true; // browsers allow autoplay only without sound
    video.play().catch((e) => { // an AbortError only means a newer load (hls.js attaching) took over
      if (e.name === "NotAllowedError") note(`autoplay refused: ${e.message}`);
    });
  }

  // Non-fatal errors are hls.js recovering on its own (a gap skipped, a request retried): not worth a report.
  // A live stream must outlive the fatal ones too, so they get the recovery hls.js documents.
  function onHlsError(event, data) {
    if (!data.fatal) return;
    note(`hls.js ${data.type}: ${data.details}`);
    if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
    } else if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) {
      setTimeout(() => hls.startLoad(), TICK_MS);
    }
  }

  function playingDate() {
    if (hls) return hls.playingDate;
    const start = video.getStartDate ? video.getStartDate().getTime() : NaN; // Safari's native HLS
    return Number.isFinite(start) ? new Date(start + video.currentTime * 1000) : null;
  }

  // The DATERANGE that covers the playing date. A break whose return is not known yet (no DURATION or END-DATE:
  // only PLANNED-DURATION) is open until a later playlist ends it.
  function showBreak(date) {
    const details = hls && hls.latestLevelDetails;
    const ranges = details ? Object.values(details.dateRanges).filter(Boolean) : [];
    const now = date ? date.getTime() : NaN;
    const range = ranges.find((r) => r.startDate.getTime() <= now
      && (r.endDate === null || now < r.endDate.getTime())) || null;
    const cell = document.getElementById("ad-break");
    cell.classList.toggle("in-break", range !== null);
    if (range) {
      const planned = range.duration ?? range.plannedDuration;
      const elapsed = (now - range.startDate.getTime()) / 1000;
      cell.textContent = `${range.id}: ${elapsed.toFixed(0)} s` + (planned === null ? "" : ` of ${planned} s`);
    } else {
      cell.textContent = !details ? "-" : ranges.length ? "programme" : "no DATERANGE in the playlist";
    }
    return range;
  }

  // Mean R, G, B of the sampled region of the frame on screen (same origin, so the canvas stays readable).
  function sampleFrame() {
    if (!sample || video.readyState < 2 || !video.videoWidth) return null;
    const [x, y, w, h] = sample;
    const sx = x * video.videoWidth, sy = y * video.videoHeight;
    canvas.width = Math.max(1, Math.round(w * video.videoWidth));
    canvas.height = Math.max(1, Math.round(h * video.videoHeight));
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(video, sx, sy, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < pixels.length; i += 4) {
      sum[0] += pixels[i];
      sum[1] += pixels[i + 1];
      sum[2] += pixels[i + 2];
    }
    const count = pixels.length / 4;
    const [r, g, b] = sum.map((s) => Math.round((s / count) * 10) / 10);
    return { r, g, b };
  }

  function showCounters(status) {
    const box = document.getElementById("counters");
    box.replaceChildren();
    for (const [key, value] of Object.entries(status)) {
      if (FIXED_STATUS_KEYS.has(key)) continue;
      const group = document.createElement("div");
      group.className = "group";
      const title = document.createElement("h3");
      title.textContent = key;
      const list = document.createElement("dl");
      const entries = value !== null && typeof value === "object" ? Object.entries(value) : [["", value]];
      for (const [name, number] of entries) {
        const dt = document.createElement("dt");
        const dd = document.createElement("dd");
        dt.textContent = name;
        dd.textContent = typeof number === "number" ? number.toLocaleString() : JSON.stringify(number);
        list.append(dt, dd);
      }
      group.append(title, list);
      box.appendChild(group);
    }
  }

  function showStatusState(state, label) {
    const badge = document.getElementById("status-state");
    badge.className = `state ${state}`;
    badge.textContent = label;
  }

  async function pollStatus() {
    let status;
    try {
      const response = await fetch(statusUrl, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      status = await response.json();
    } catch (e) {
      showStatusState("missing", `no status.json (${e.message})`);
      return;
    }
    if (status.updated_ms !== lastUpdatedMs) {
      lastUpdatedMs = status.updated_ms;
      lastChangeAt = performance.now();
    }
    const quietMs = performance.now() - lastChangeAt;
    text("app", status.app ?? "-");
    showCounters(status);
    if (status.live === false) {
      showStatusState("ended", "ended");
    } else if (quietMs > STALE_MS) {
      showStatusState("stale", `stale (no update for ${(quietMs / 1000).toFixed(0)} s)`);
    } else {
      showStatusState("live", "live");
    }
  }

  function sendBeacon(date, range) {
    const report = {
      t: video.currentTime,
      playing_date_ms: date ? date.getTime() : null,
      stalls,
      errors,
      frame: sampleFrame(),
      ad_break: range ? range.id : null,
    };
    fetch("/beacon", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(report),
      keepalive: true,
    }).catch(() => {}); // a server without /beacon (a plain CDN) must not disturb playback
  }

  function tick() {
    const date = playingDate();
    text("playing-date", date ? date.toISOString() : "-");
    text("stalls", String(stalls));
    sendBeacon(date, showBreak(date));
    pollStatus();
  }

  window.addEventListener("error", (e) => note(`script error: ${e.message}`));
  video.addEventListener("playing", () => { started = true; });
  video.addEventListener("waiting", () => { if (started) stalls += 1; }); // the start-up wait is not a stall
  video.addEventListener("error", () => note(`video error ${video.error.code}: ${video.error.message}`));
  attach();
  setInterval(tick, TICK_MS);
})();

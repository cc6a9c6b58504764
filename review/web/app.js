// otoseg review: the reader's viewer and rating form. Everything it shows
// comes from the JSON API documented in docs/review.md; slices arrive as
// PNG rendered by the server, so the volume never leaves it.
"use strict";

const VIEWS = ["axial", "coronal", "sagittal"];
const PRESETS = { bone: [4000, 1000], temporal: [2800, 600], soft: [400, 40] };

const S = {
  csrf: "", compare: false, likert: [], list: null, info: null,
  pos: [0, 0, 0], win: { width: 4000, level: 1000 },
  overlay: "outline", seg: "A", opacity: 0.45,
  zoom: { axial: 1, coronal: 1, sagittal: 1 }, pan: { axial: [0, 0], coronal: [0, 0], sagittal: [0, 0] },
  hover: "axial", ratings: {}, submitted: false,
  baseSeconds: 0, activeMs: 0, lastTick: 0, saveChain: Promise.resolve(), dirty: {},
  scaleBars: {}, // view -> the scale bar last drawn: {mm, px, pxPerMm, width} in canvas pixels
};
window.otoseg = S; // for debugging and the end-to-end tests

const $ = (id) => document.getElementById(id);

// ---- API

async function api(method, url, body) {
  // keepalive lets a save started as the page closes still reach the server
  const opt = { method, credentials: "same-origin", headers: {}, keepalive: method !== "GET" };
  if (method !== "GET") opt.headers["X-CSRF-Token"] = S.csrf;
  if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
  const r = await fetch(url, opt);
  if (r.status === 401) { location.replace("/login"); throw new Error("signed out"); }
  const j = await r.json().catch(() => ({}));
  if (!r.ok) { const e = new Error(j.error || (method + " " + url + ": " + r.status)); e.status = r.status; throw e; }
  return j;
}

// ---- slice images

const imgCache = new Map(); // url -> {img, ok}
function image(url, onload) {
  let e = imgCache.get(url);
  if (e) { imgCache.delete(url); imgCache.set(url, e); return e; }
  e = { img: new Image(), ok: false };
  e.img.onload = () => { e.ok = true; onload(); };
  e.img.src = url;
  imgCache.set(url, e);
  if (imgCache.size > 400) imgCache.delete(imgCache.keys().next().value);
  return e;
}

const overlayCache = new Map(); // url -> canvas (fill) or outline segments

// labelPixels reads a label slice image back as RGBA.
function labelPixels(entry) {
  const img = entry.img, w = img.naturalWidth, h = img.naturalHeight;
  const c = document.createElement("canvas");
  c.width = w; c.height = h;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  return { c, w, h, d: ctx.getImageData(0, 0, w, h).data };
}

// fillCanvas is the label slice itself, drawn translucent.
function fillCanvas(entry, key) {
  let c = overlayCache.get(key);
  if (!c) { c = labelPixels(entry).c; cache(key, c); }
  return c;
}

// outlineSegments returns, per colour, the pixel edges between a label and
// anything else, in slice pixel units; they are stroked at screen
// resolution, so the outline stays a thin line however far one zooms.
function outlineSegments(entry, key) {
  let segs = overlayCache.get(key);
  if (segs) return segs;
  const { w, h, d } = labelPixels(entry);
  const at = (x, y) => (x < 0 || y < 0 || x >= w || y >= h) ? 0 : d[4 * (y * w + x) + 3] === 0 ? 0 :
    ((d[4 * (y * w + x)] << 16) | (d[4 * (y * w + x) + 1] << 8) | d[4 * (y * w + x) + 2]) + 1;
  const by = new Map();
  const add = (k, x0, y0, x1, y1) => { let a = by.get(k); if (!a) by.set(k, a = []); a.push(x0, y0, x1, y1); };
  for (let y = 0; y <= h; y++) {
    for (let x = 0; x <= w; x++) {
      const k = at(x, y), left = at(x - 1, y), up = at(x, y - 1);
      if (k !== left) add(k || left, x, y, x, y + 1);
      if (k !== up) add(k || up, x, y, x + 1, y);
    }
  }
  segs = [...by].map(([k, a]) => ({ colour: "rgb(" + (((k - 1) >> 16) & 255) + "," + (((k - 1) >> 8) & 255) + "," + ((k - 1) & 255) + ")", a }));
  cache(key, segs);
  return segs;
}

function cache(key, v) {
  overlayCache.set(key, v);
  if (overlayCache.size > 300) overlayCache.delete(overlayCache.keys().next().value);
}

function sliceIndex(view) { return view === "axial" ? S.pos[2] : view === "coronal" ? S.pos[1] : S.pos[0]; }
function setSliceIndex(view, i) {
  if (!S.info.views) return;
  const n = S.info.views[view].slices;
  i = Math.max(0, Math.min(n - 1, i));
  if (view === "axial") S.pos[2] = i; else if (view === "coronal") S.pos[1] = i; else S.pos[0] = i;
}
function sliceURL(view, layer) {
  const q = new URLSearchParams({ view, index: sliceIndex(view), layer });
  if (layer === "image") { q.set("window", S.win.width); q.set("level", S.win.level); }
  return "/api/cases/" + encodeURIComponent(S.info.case_id) + "/slice?" + q;
}

// geometry of a view on its canvas: pixel size in screen px and the origin
function layout(view, canvas) {
  const v = S.info.views[view];
  const wmm = v.width * v.col_mm, hmm = v.height * v.row_mm;
  const scale = Math.min(canvas.width / wmm, canvas.height / hmm) * S.zoom[view];
  const dw = wmm * scale, dh = hmm * scale;
  const ox = (canvas.width - dw) / 2 + S.pan[view][0], oy = (canvas.height - dh) / 2 + S.pan[view][1];
  return { v, ox, oy, dw, dh, px: scale * v.col_mm, py: scale * v.row_mm };
}

// crosshair position (column, row) of the current point in a view
function crossOf(view) {
  const d = S.info.dims;
  if (view === "axial") return [S.pos[0], S.pos[1]];
  if (view === "coronal") return [S.pos[0], d[2] - 1 - S.pos[2]];
  return [S.pos[1], d[2] - 1 - S.pos[2]];
}
function setCross(view, col, row) {
  const d = S.info.dims;
  const cl = (x, n) => Math.max(0, Math.min(n - 1, x));
  if (view === "axial") { S.pos[0] = cl(col, d[0]); S.pos[1] = cl(row, d[1]); }
  else if (view === "coronal") { S.pos[0] = cl(col, d[0]); S.pos[2] = cl(d[2] - 1 - row, d[2]); }
  else { S.pos[1] = cl(col, d[1]); S.pos[2] = cl(d[2] - 1 - row, d[2]); }
}

function fitCanvas(c) {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(c.clientWidth * dpr)), h = Math.max(1, Math.round(c.clientHeight * dpr));
  if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
}

const shown = {}; // view -> the last slice pair drawn complete
let drawPending = false;
function drawAll() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => { drawPending = false; for (const v of VIEWS) drawView(v); });
}

function drawView(view) {
  if (!S.info) return;
  const canvas = document.querySelector('canvas.slice[data-view="' + view + '"]');
  fitCanvas(canvas);
  if (!S.info.views) {
    // the server could not load this case: say so, keep the form usable
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#ff6b6b";
    ctx.font = 14 * (window.devicePixelRatio || 1) + "px sans-serif";
    ctx.fillText(S.info.load_error || "no images", 12, 40);
    canvas.parentElement.querySelector(".idx").textContent = "";
    return;
  }
  if (S.focus && S.focus[view] && canvas.width > 1) { focusView(view, canvas); S.focus[view] = false; }
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  const L = layout(view, canvas);
  // Draw the requested slice once its CT and overlay have both arrived;
  // until then keep the last complete pair, so scrolling never flashes
  // black and an overlay is never drawn on another slice's CT.
  const base = image(sliceURL(view, "image"), drawAll);
  const labURL = S.overlay !== "off" ? sliceURL(view, S.seg) : "";
  const lab = labURL ? image(labURL, drawAll) : null;
  let pair = { base, lab, labURL, overlay: S.overlay };
  if (base.ok && (!lab || lab.ok)) shown[view] = pair;
  else if (shown[view] && shown[view].overlay === S.overlay) pair = shown[view];
  if (pair.base.ok) {
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(pair.base.img, L.ox, L.oy, L.dw, L.dh);
  }
  if (pair.lab && pair.lab.ok) {
    if (S.overlay === "fill") {
      ctx.imageSmoothingEnabled = false;
      ctx.globalAlpha = S.opacity;
      ctx.drawImage(fillCanvas(pair.lab, pair.labURL + "|fill"), L.ox, L.oy, L.dw, L.dh);
    } else {
      ctx.globalAlpha = Math.min(1, S.opacity + 0.45);
      ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
      for (const sg of outlineSegments(pair.lab, pair.labURL + "|outline")) {
        ctx.strokeStyle = sg.colour;
        ctx.beginPath();
        const a = sg.a;
        for (let i = 0; i < a.length; i += 4) {
          ctx.moveTo(L.ox + a[i] * L.px, L.oy + a[i + 1] * L.py);
          ctx.lineTo(L.ox + a[i + 2] * L.px, L.oy + a[i + 3] * L.py);
        }
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;
  }
  // crosshair with a gap around the point, so it never hides the anatomy
  const [c, r] = crossOf(view);
  const x = L.ox + (c + 0.5) * L.px, y = L.oy + (r + 0.5) * L.py, gap = 14 * (window.devicePixelRatio || 1);
  ctx.strokeStyle = "rgba(255, 209, 102, 0.55)";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(L.ox, y); ctx.lineTo(x - gap, y); ctx.moveTo(x + gap, y); ctx.lineTo(L.ox + L.dw, y);
  ctx.moveTo(x, L.oy); ctx.lineTo(x, y - gap); ctx.moveTo(x, y + gap); ctx.lineTo(x, L.oy + L.dh);
  ctx.stroke();
  drawScaleBar(ctx, canvas, L, view);
  canvas.parentElement.querySelector(".idx").textContent = (sliceIndex(view) + 1) + "/" + L.v.slices;
  // warm the cache with the neighbouring slices
  for (const dn of [1, -1]) {
    const i = sliceIndex(view) + dn;
    if (i >= 0 && i < L.v.slices) {
      const save = S.pos.slice();
      setSliceIndex(view, i);
      image(sliceURL(view, "image"), () => {});
      if (S.overlay !== "off") image(sliceURL(view, S.seg), () => {});
      S.pos = save;
    }
  }
}

// drawScaleBar draws, bottom right, a bar of a round length in millimetres
// (1, 2 or 5 times a power of ten) that fills at most a quarter of the
// view's width, so that sizes can be judged at any zoom. The display keeps
// millimetres square (layout), so one bar serves both directions.
function drawScaleBar(ctx, canvas, L, view) {
  const dpr = window.devicePixelRatio || 1;
  const pxPerMm = L.px / L.v.col_mm;
  const target = canvas.width / 4 / pxPerMm;
  const p = Math.pow(10, Math.floor(Math.log10(target)));
  let mm = p;
  for (const m of [2, 5]) if (m * p <= target) mm = m * p;
  const len = mm * pxPerMm;
  const x1 = canvas.width - 12 * dpr, x0 = x1 - len, y = canvas.height - 12 * dpr, tick = 4 * dpr;
  const label = (mm >= 1 ? String(mm) : mm.toPrecision(1)) + " mm";
  ctx.save();
  ctx.lineCap = "butt";
  // a dark halo keeps the bar readable on bone as on air
  for (const [style, width] of [["rgba(0,0,0,0.75)", 4 * dpr], ["#fff", 2 * dpr]]) {
    ctx.strokeStyle = style;
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(x0, y - tick); ctx.lineTo(x0, y); ctx.lineTo(x1, y); ctx.lineTo(x1, y - tick);
    ctx.stroke();
  }
  ctx.font = 12 * dpr + "px system-ui, sans-serif";
  ctx.textAlign = "center";
  ctx.textBaseline = "bottom";
  ctx.lineWidth = 3 * dpr;
  ctx.strokeStyle = "rgba(0,0,0,0.75)";
  ctx.strokeText(label, (x0 + x1) / 2, y - 3 * dpr);
  ctx.fillStyle = "#fff";
  ctx.fillText(label, (x0 + x1) / 2, y - 3 * dpr);
  ctx.restore();
  S.scaleBars[view] = { mm, px: len, pxPerMm, width: canvas.width };
}

function setupPanels() {
  for (const canvas of document.querySelectorAll("canvas.slice")) {
    const view = canvas.dataset.view;
    let drag = null;
    canvas.addEventListener("mouseenter", () => {
      S.hover = view;
      for (const p of document.querySelectorAll(".panel")) p.classList.toggle("active", p.dataset.view === view);
    });
    canvas.addEventListener("wheel", (e) => {
      if (!S.info || !S.info.views) return;
      e.preventDefault();
      if (e.ctrlKey || e.metaKey) {
        S.zoom[view] = Math.max(0.5, Math.min(16, S.zoom[view] * Math.exp(-e.deltaY * 0.0015)));
      } else {
        setSliceIndex(view, sliceIndex(view) + (e.deltaY > 0 ? -1 : 1));
      }
      drawAll();
    }, { passive: false });
    canvas.addEventListener("contextmenu", (e) => e.preventDefault());
    canvas.addEventListener("pointerdown", (e) => {
      if (!S.info || !S.info.views) return;
      canvas.setPointerCapture(e.pointerId);
      const mode = e.button === 2 ? "wl" : (e.button === 1 || e.shiftKey) ? "pan" : "point";
      drag = { mode, x: e.clientX, y: e.clientY, win: { ...S.win } };
      if (mode === "point") pointAt(view, canvas, e);
    });
    canvas.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (drag.mode === "point") pointAt(view, canvas, e);
      else if (drag.mode === "pan") {
        const dpr = window.devicePixelRatio || 1;
        S.pan[view][0] += dx * dpr; S.pan[view][1] += dy * dpr;
        drag.x = e.clientX; drag.y = e.clientY;
      } else {
        setWindow(Math.max(1, drag.win.width + dx * 10), drag.win.level + dy * 5);
      }
      drawAll();
    });
    canvas.addEventListener("pointerup", () => { drag = null; });
  }
}

function pointAt(view, canvas, e) {
  const rect = canvas.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
  const L = layout(view, canvas);
  const col = Math.floor(((e.clientX - rect.left) * dpr - L.ox) / L.px);
  const row = Math.floor(((e.clientY - rect.top) * dpr - L.oy) / L.py);
  setCross(view, col, row);
  drawAll();
}

function setWindow(w, l) {
  S.win = { width: Math.round(Math.max(1, w)), level: Math.round(l) };
  $("win-width").value = S.win.width;
  $("win-level").value = S.win.level;
  drawAll();
}

// ---- 3-D surface

let surface = null;
async function loadSurface() {
  if (!S.info) return;
  if (!S.info.views) { surface.setMessage(S.info.load_error || ""); $("surface-info").textContent = "(unavailable)"; return; }
  const id = S.info.case_id, seg = S.seg;
  $("surface-info").textContent = "loading…";
  try {
    const r = await fetch("/api/cases/" + encodeURIComponent(id) + "/surface?layer=" + seg + "&ear=" + S.ear, { credentials: "same-origin" });
    if (!r.ok) throw new Error("status " + r.status);
    const buf = await r.arrayBuffer();
    if (!S.info || S.info.case_id !== id || S.seg !== seg) return;
    surface.setMesh(buf, S.info.label_colours);
    const m = surface.mesh;
    $("surface-info").textContent = m.ni === 0 ? "(empty segmentation)" :
      "(" + seg + ", " + (m.ni / 3) + " triangles, " + surface.mode + "; drag to rotate)";
  } catch (e) {
    surface.setMessage("surface unavailable: " + e.message);
    $("surface-info").textContent = "(unavailable)";
  }
}

// ---- rating form

function buildRatingForm() {
  const groups = $("rating-groups");
  groups.replaceChildren();
  for (const seg of S.info.segmentations) {
    const fs = document.createElement("fieldset");
    fs.className = "seg-group";
    fs.dataset.seg = seg;
    const lg = document.createElement("legend");
    lg.textContent = S.compare ? "Segmentation " + seg : "Segmentation";
    fs.appendChild(lg);
    for (const l of S.likert) {
      const lab = document.createElement("label");
      lab.className = "likert";
      const inp = document.createElement("input");
      inp.type = "radio"; inp.name = "likert-" + seg; inp.value = l.level;
      inp.addEventListener("change", () => rate(seg, l.level));
      const txt = document.createElement("span");
      const key = document.createElement("span");
      key.className = "key";
      key.textContent = (S.compare && seg === "B" ? "⇧" : "") + l.level;
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = l.title;
      const def = document.createElement("div");
      def.className = "def";
      def.textContent = l.definition;
      txt.append(key, title, def);
      lab.append(inp, txt);
      fs.appendChild(lab);
    }
    const cl = document.createElement("label");
    cl.className = "comment";
    cl.textContent = "Comment (optional)";
    const ta = document.createElement("textarea");
    ta.maxLength = 4000; ta.rows = 3; ta.className = "comment-box"; ta.dataset.seg = seg;
    ta.placeholder = "What would need correcting? (C to focus, Esc to leave)";
    let timer = null;
    ta.addEventListener("input", () => {
      S.dirty[seg] = true;
      clearTimeout(timer);
      timer = setTimeout(() => saveComment(seg), 1200);
    });
    ta.addEventListener("blur", () => { clearTimeout(timer); saveComment(seg); });
    cl.appendChild(ta);
    fs.appendChild(cl);
    groups.appendChild(fs);
  }
}

function showRatings() {
  for (const fs of document.querySelectorAll(".seg-group")) {
    const seg = fs.dataset.seg, r = S.ratings[seg];
    for (const inp of fs.querySelectorAll("input[type=radio]")) {
      inp.checked = !!r && Number(inp.value) === r.likert;
      inp.disabled = S.submitted;
      inp.closest(".likert").classList.toggle("chosen", inp.checked);
    }
    const ta = fs.querySelector("textarea");
    if (!S.dirty[seg]) ta.value = r ? r.comment : "";
    ta.disabled = S.submitted;
  }
  $("submit").disabled = S.submitted;
  $("submit").textContent = S.submitted ? "Submitted – final" : "Submit case ⏎";
  let banner = document.querySelector(".submitted-banner");
  if (S.submitted && !banner) {
    banner = document.createElement("p");
    banner.className = "submitted-banner";
    banner.textContent = "You submitted this case; its rating is final.";
    $("rating-groups").before(banner);
  } else if (!S.submitted && banner) banner.remove();
}

function secondsSpent() {
  tick();
  return Math.round((S.baseSeconds + S.activeMs / 1000) * 10) / 10;
}
function tick() {
  const now = performance.now();
  if (document.visibilityState === "visible" && S.lastTick) S.activeMs += Math.min(now - S.lastTick, 60000);
  S.lastTick = now;
}

function status(text, cls) {
  const s = $("save-status");
  s.textContent = text;
  s.className = "status " + (cls || "");
}

// save queues rating writes so they reach the server in order.
function save(seg, submit) {
  const id = S.info.case_id;
  const r = S.ratings[seg];
  if (!r) return Promise.resolve();
  const ta = document.querySelector('textarea[data-seg="' + seg + '"]');
  const body = { case_id: id, segmentation: seg, likert: r.likert, comment: ta ? ta.value : r.comment, seconds_spent: secondsSpent() };
  if (submit) body.submit = true;
  status("Saving…", "busy");
  S.saveChain = S.saveChain.then(async () => {
    try {
      const res = await api("POST", "/api/ratings", body);
      if (S.info && S.info.case_id === id) {
        S.ratings[seg] = res.rating;
        S.dirty[seg] = false;
        if (res.submitted) S.submitted = true;
        showRatings();
      }
      const t = new Date(res.rating.rated_at);
      status("Saved " + (S.compare ? seg + " " : "") + "(" + res.rating.likert + ") at " + t.toLocaleTimeString(), "ok");
      markListRated(id, res.submitted);
    } catch (e) {
      status("Not saved: " + e.message, "err");
      throw e;
    }
  });
  return S.saveChain.catch(() => {});
}

function rate(seg, level) {
  if (!S.info || S.submitted) return;
  if (!S.info.segmentations.includes(seg)) return;
  const ta = document.querySelector('textarea[data-seg="' + seg + '"]');
  S.ratings[seg] = { ...(S.ratings[seg] || {}), likert: level, comment: ta ? ta.value : "" };
  showRatings();
  save(seg);
}

function saveComment(seg) {
  if (!S.info || S.submitted || !S.dirty[seg]) return;
  if (!S.ratings[seg]) { status("Choose a level (1–4) to save the comment with it.", "busy"); return; }
  save(seg);
}

async function flushComments() {
  for (const seg of Object.keys(S.dirty)) if (S.dirty[seg]) saveComment(seg);
  await S.saveChain.catch(() => {});
}

async function submitCase() {
  if (!S.info || S.submitted) return;
  const missing = S.info.segmentations.filter((s) => !S.ratings[s]);
  if (missing.length) { status("Rate " + (S.compare ? "segmentation " + missing.join(" and ") : "the segmentation") + " before submitting.", "err"); return; }
  await flushComments();
  try {
    await api("POST", "/api/cases/" + encodeURIComponent(S.info.case_id) + "/submit");
    S.submitted = true;
    showRatings();
    markListRated(S.info.case_id, true);
    status("Submitted.", "ok");
    const next = nextOpenCase();
    if (next) await openCase(next);
    else status("All cases submitted. Thank you!", "ok");
  } catch (e) {
    status("Not submitted: " + e.message, "err");
  }
}

function markListRated(id, submitted) {
  if (!S.list) return;
  const c = S.list.cases.find((x) => x.case_id === id);
  if (!c) return;
  if (submitted && !c.submitted) { c.submitted = true; S.list.submitted++; }
  c.status = c.submitted ? "submitted" : "rated";
  updateProgress();
}

function nextOpenCase() {
  const cs = S.list.cases;
  const i = cs.findIndex((c) => c.case_id === S.info.case_id);
  for (let k = 1; k <= cs.length; k++) {
    const c = cs[(i + k) % cs.length];
    if (!c.submitted) return c.case_id;
  }
  return null;
}

function updateProgress() {
  $("overall").max = Math.max(1, S.list.total);
  $("overall").value = S.list.submitted;
  $("overall-text").textContent = S.list.submitted + "/" + S.list.total + " submitted";
  // the jump list: position and state only, never the case id
  const sel = $("case-jump");
  const mark = { submitted: "✓ submitted", rated: "● rated", unrated: "○ to do" };
  sel.replaceChildren();
  for (const c of S.list.cases) {
    const o = document.createElement("option");
    o.value = c.case_id;
    o.textContent = "Case " + c.position + " – " + mark[c.status];
    sel.appendChild(o);
  }
  if (S.info) sel.value = S.info.case_id;
}

// ---- cases

async function openCase(id) {
  try {
    await openCaseInner(id);
  } catch (e) {
    status("Cannot open the case: " + e.message, "err");
  }
}

async function openCaseInner(id) {
  if (S.info) await flushComments();
  status("Loading case…", "busy");
  const info = await api("GET", "/api/cases/" + encodeURIComponent(id));
  S.info = info;
  S.pos = info.centre ? info.centre.slice() : [0, 0, 0];
  S.ear = 0;
  $("other-ear").style.display = info.ears && info.ears.length > 1 ? "" : "none";
  S.ratings = { ...info.ratings };
  S.submitted = info.submitted;
  S.dirty = {};
  S.baseSeconds = info.seconds_spent || 0;
  S.activeMs = 0; S.lastTick = performance.now();
  if (!info.segmentations.includes(S.seg)) S.seg = info.segmentations[0];
  for (const v of VIEWS) { S.zoom[v] = 1; S.pan[v] = [0, 0]; }
  S.focus = { axial: true, coronal: true, sagittal: true };
  for (const v of VIEWS) delete shown[v];
  $("case-label").textContent = "Case " + info.position + " of " + info.total;
  $("case-jump").value = info.case_id;
  $("prev").disabled = !info.prev;
  $("next").disabled = !info.next;
  // the address shows the position in the reader's list, never the case id
  history.replaceState(null, "", "#n=" + info.position);
  buildRatingForm();
  showRatings();
  if (info.load_error) status("The images of this case cannot be shown (" + info.load_error + "); you can still rate it, e.g. 4.", "err");
  else status(info.submitted ? "Submitted." : Object.keys(info.ratings).length ? "Rating saved earlier; you can change it." : "", "ok");
  drawAll();
  loadSurface();
}

function otherEar() {
  if (!S.info || !S.info.ears || S.info.ears.length < 2) return;
  S.ear = (S.ear + 1) % S.info.ears.length;
  S.pos = S.info.ears[S.ear].slice();
  focusAll();
  loadSurface();
}

// FOCUS_MM is the field of view the slices open with: an inner ear with
// some of the temporal bone around it. Reset view (R) shows the whole scan.
const FOCUS_MM = 32;
function focusAll() { S.focus = { axial: true, coronal: true, sagittal: true }; drawAll(); }
function resetViews() { S.focus = {}; for (const v of VIEWS) { S.zoom[v] = 1; S.pan[v] = [0, 0]; } drawAll(); }

// focusView zooms a view so FOCUS_MM fills its canvas and centres it on the
// crosshair; it runs at draw time, when the canvas size is known.
function focusView(view, canvas) {
  const v = S.info.views[view];
  const wmm = v.width * v.col_mm, hmm = v.height * v.row_mm;
  const s0 = Math.min(canvas.width / wmm, canvas.height / hmm);
  S.zoom[view] = Math.max(1, Math.min(canvas.width, canvas.height) / FOCUS_MM / s0);
  S.pan[view] = [0, 0];
  const L = layout(view, canvas);
  const [c, r] = crossOf(view);
  S.pan[view] = [canvas.width / 2 - (L.ox + (c + 0.5) * L.px), canvas.height / 2 - (L.oy + (r + 0.5) * L.py)];
}

function setOverlay(mode) {
  S.overlay = mode;
  $("overlay-mode").value = mode;
  drawAll();
}

function setSeg(seg) {
  S.seg = seg;
  $("seg-choice").value = seg;
  drawAll();
  loadSurface();
}

let focusCommentOnKeyUp = false;
function onKeyUp() {
  if (!focusCommentOnKeyUp) return;
  focusCommentOnKeyUp = false;
  const ta = document.querySelector("textarea.comment-box");
  if (ta && !ta.disabled) ta.focus();
}

function onKey(e) {
  const typing = e.target instanceof HTMLTextAreaElement || e.target instanceof HTMLSelectElement ||
    (e.target instanceof HTMLInputElement && e.target.type !== "radio" && e.target.type !== "range");
  if (typing) {
    if (e.key === "Escape") e.target.blur();
    return;
  }
  if (e.ctrlKey || e.metaKey) return;
  if (!S.info) return;
  const digit = /^Digit([1-4])$/.exec(e.code);
  if (digit && !e.altKey) {
    rate(e.shiftKey && S.compare ? "B" : "A", Number(digit[1]));
    e.preventDefault();
    return;
  }
  const k = e.key;
  const act = {
    Enter: () => submitCase(),
    n: () => S.info.next && openCase(S.info.next), N: () => S.info.next && openCase(S.info.next),
    p: () => S.info.prev && openCase(S.info.prev), P: () => S.info.prev && openCase(S.info.prev),
    o: () => setOverlay({ outline: "fill", fill: "off", off: "outline" }[S.overlay]),
    O: () => setOverlay({ outline: "fill", fill: "off", off: "outline" }[S.overlay]),
    a: () => S.compare && setSeg(S.seg === "A" ? "B" : "A"),
    e: () => otherEar(),
    b: () => setWindow(...PRESETS.bone), t: () => setWindow(...PRESETS.temporal), s: () => setWindow(...PRESETS.soft),
    "+": () => { S.zoom[S.hover] = Math.min(16, S.zoom[S.hover] * 1.25); drawAll(); },
    "=": () => { S.zoom[S.hover] = Math.min(16, S.zoom[S.hover] * 1.25); drawAll(); },
    "-": () => { S.zoom[S.hover] = Math.max(0.5, S.zoom[S.hover] / 1.25); drawAll(); },
    r: () => resetViews(),
    f: () => focusAll(),
    // focus on key-up, so the "c" itself is not typed into the box
    c: () => { focusCommentOnKeyUp = true; },
    "?": () => $("help").showModal(),
    ArrowUp: () => { setSliceIndex(S.hover, sliceIndex(S.hover) + 1); drawAll(); },
    ArrowDown: () => { setSliceIndex(S.hover, sliceIndex(S.hover) - 1); drawAll(); },
    PageUp: () => { setSliceIndex(S.hover, sliceIndex(S.hover) + 5); drawAll(); },
    PageDown: () => { setSliceIndex(S.hover, sliceIndex(S.hover) - 5); drawAll(); },
  };
  if (e.altKey && k === "ArrowRight") { if (S.info.next) openCase(S.info.next); e.preventDefault(); return; }
  if (e.altKey && k === "ArrowLeft") { if (S.info.prev) openCase(S.info.prev); e.preventDefault(); return; }
  if (e.altKey) return;
  const f = act[k];
  if (f) { e.preventDefault(); f(); }
}

async function main() {
  const me = await api("GET", "/api/me");
  if (me.admin) { location.replace("/admin"); return; }
  S.csrf = me.csrf_token;
  S.compare = me.compare;
  document.body.classList.toggle("compare", S.compare);
  $("who").textContent = me.reader;
  S.likert = await api("GET", "/api/likert");
  S.list = await api("GET", "/api/cases");
  updateProgress();
  const segSel = $("seg-choice");
  for (const s of S.list.segmentations) { const o = document.createElement("option"); o.value = s; o.textContent = s; segSel.appendChild(o); }
  $("seg-choice-label").style.display = S.compare ? "" : "none";
  segSel.onchange = () => setSeg(segSel.value);
  $("overlay-mode").onchange = () => setOverlay($("overlay-mode").value);
  $("opacity").oninput = () => { S.opacity = Number($("opacity").value); drawAll(); };
  $("win-width").onchange = () => setWindow(Number($("win-width").value), S.win.level);
  $("win-level").onchange = () => setWindow(S.win.width, Number($("win-level").value));
  $("preset-bone").onclick = () => setWindow(...PRESETS.bone);
  $("preset-temporal").onclick = () => setWindow(...PRESETS.temporal);
  $("preset-soft").onclick = () => setWindow(...PRESETS.soft);
  $("other-ear").onclick = () => otherEar();
  $("zoom-reset").onclick = () => resetViews();
  $("focus-ear").onclick = () => focusAll();
  $("prev").onclick = () => S.info && S.info.prev && openCase(S.info.prev);
  $("next").onclick = () => S.info && S.info.next && openCase(S.info.next);
  $("submit").onclick = () => submitCase();
  $("case-jump").onchange = () => { const id = $("case-jump").value; $("case-jump").blur(); if (!S.info || id !== S.info.case_id) openCase(id); };
  $("help-button").onclick = () => $("help").showModal();
  $("logout").onclick = async () => { await flushComments(); await api("POST", "/api/logout"); location.replace("/login"); };
  // a menu gives the keyboard back to the shortcuts once a choice is made
  for (const sel of document.querySelectorAll("select")) sel.addEventListener("change", () => sel.blur());
  document.addEventListener("keydown", onKey);
  document.addEventListener("keyup", onKeyUp);
  document.addEventListener("visibilitychange", tick);
  setInterval(tick, 1000);
  window.addEventListener("beforeunload", () => { for (const seg of Object.keys(S.dirty)) if (S.dirty[seg]) saveComment(seg); });
  setupPanels();
  new ResizeObserver(drawAll).observe($("viewer"));
  surface = new SurfaceView($("surface"));
  const m = /#n=(\d+)/.exec(location.hash);
  const at = m ? S.list.cases[Number(m[1]) - 1] : null;
  const start = at ? at.case_id : S.list.resume;
  if (start) await openCase(start);
  else status("No cases to review.", "");
}

main().catch((e) => status("Error: " + e.message, "err"));

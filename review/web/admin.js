"use strict";
let csrf = "";
async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (r.status === 401) { location.replace("/login"); throw new Error("signed out"); }
  if (!r.ok) throw new Error(url + ": " + r.status);
  return r.json();
}
function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; }
async function refresh() {
  const p = await getJSON("/api/admin/progress");
  const tb = document.querySelector("#progress tbody");
  tb.replaceChildren();
  let done = 0, total = 0;
  for (const r of p.readers) {
    const tr = document.createElement("tr");
    cell(tr, r.reader); cell(tr, r.assigned); cell(tr, r.rated); cell(tr, r.submitted);
    const td = cell(tr, "");
    const bar = document.createElement("progress");
    bar.max = Math.max(1, p.cases); bar.value = r.submitted;
    td.appendChild(bar);
    cell(tr, r.last_activity ? r.last_activity.replace("T", " ").replace(/\..*|Z$/, "") : "–");
    tb.appendChild(tr);
    done += r.submitted; total += p.cases;
  }
  document.getElementById("summary").textContent =
    p.readers.length + " readers, " + p.cases + " cases each; " + done + " of " + total + " case ratings submitted.";
}
// refreshQC fills the QC table: one row per ear with a verdict, one row
// for a case whose sidecar has none.
async function refreshQC() {
  const q = await getJSON("/api/admin/qc");
  const tb = document.querySelector("#qc tbody");
  tb.replaceChildren();
  for (const c of q.cases) {
    if (c.ears.length === 0) {
      const tr = document.createElement("tr");
      cell(tr, c.case_id); cell(tr, "–"); cell(tr, "–"); cell(tr, "–");
      cell(tr, "no QC verdict in the sidecar").className = "muted";
      tb.appendChild(tr);
      continue;
    }
    for (const e of c.ears) {
      const tr = document.createElement("tr");
      cell(tr, c.case_id); cell(tr, e.side); cell(tr, e.score.toFixed(3)).className = "num";
      const f = cell(tr, e.flag);
      f.className = "qc-flag qc-" + (e.flag === "review" ? "review" : "ok");
      cell(tr, e.reasons.join("; "));
      tb.appendChild(tr);
    }
  }
  document.getElementById("qc-summary").textContent =
    q.flagged_ears + " of " + q.scored_ears + " scored ears flagged for review.";
}
async function main() {
  const me = await getJSON("/api/me");
  csrf = me.csrf_token;
  document.getElementById("who").textContent = me.reader + " (admin)";
  document.getElementById("logout").onclick = async () => {
    await fetch("/api/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    location.replace("/login");
  };
  await refresh();
  await refreshQC();
  setInterval(() => refresh().catch(() => {}), 10000);
}
main();

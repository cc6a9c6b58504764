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
async function main() {
  const me = await getJSON("/api/me");
  csrf = me.csrf_token;
  document.getElementById("who").textContent = me.reader + " (admin)";
  document.getElementById("logout").onclick = async () => {
    await fetch("/api/logout", { method: "POST", headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" });
    location.replace("/login");
  };
  await refresh();
  setInterval(() => refresh().catch(() => {}), 10000);
}
main();

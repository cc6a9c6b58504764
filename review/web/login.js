// Sign-in: POST /api/login {"reader","token"} sets the HttpOnly session
// cookie; the app page then fetches its CSRF token from /api/me. Every
// reader session names cases by opaque keys (blinding), so nothing here
// asks for it.
"use strict";
document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = document.getElementById("login-error");
  err.textContent = "";
  const body = {
    reader: document.getElementById("reader").value.trim(),
    token: document.getElementById("secret").value,
  };
  try {
    const r = await fetch("/api/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    const j = await r.json().catch(() => ({}));
    if (!r.ok) {
      err.textContent = j.error || ("sign-in failed (" + r.status + ")");
      return;
    }
    location.replace(j.admin ? "/admin" : "/");
  } catch (e) {
    err.textContent = "cannot reach the server: " + e;
  }
});

// Shared by the agent console and the KB editor: signing in with a token, calling the API, building elements.
// Text from tickets, customers and articles is only ever put on the page with textContent, never as HTML.
"use strict";

/** An element with properties (text goes in as textContent), attributes and children. */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key in node && !key.includes("-")) node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((c) => c != null && c !== false));
  return node;
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/** A staff member's session: the token lives in sessionStorage (gone when the tab closes). */
class StaffSession {
  constructor(role, onSignedIn) {
    this.role = role;
    this.key = `tierzero:${role}-token`;
    this.onSignedIn = onSignedIn;
    this.loginView = document.getElementById("login");
    this.appView = document.getElementById("app");
    this.error = document.getElementById("login-error");
    document.getElementById("login-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const field = document.getElementById("token");
      this.signIn(field.value.trim());
    });
    document.getElementById("sign-out").addEventListener("click", () => this.signOut());
  }

  get token() {
    return sessionStorage.getItem(this.key);
  }

  async start() {
    if (this.token) await this.signIn(this.token);
    else this.showLogin();
  }

  showLogin(message) {
    this.appView.hidden = true;
    this.loginView.hidden = false;
    document.getElementById("sign-out").hidden = true;
    this.error.textContent = message || "";
    document.getElementById("token").focus();
  }

  async signIn(token) {
    if (!token) return this.showLogin("Paste your token first.");
    sessionStorage.setItem(this.key, token);
    try {
      await this.onSignedIn(this);
    } catch (error) {
      sessionStorage.removeItem(this.key);
      return this.showLogin(error.status === 401 || error.status === 403 ? error.message : "Sign-in failed: " + error.message);
    }
    document.getElementById("token").value = "";
    this.loginView.hidden = true;
    this.appView.hidden = false;
    document.getElementById("sign-out").hidden = false;
  }

  signOut(message) {
    sessionStorage.removeItem(this.key);
    location.hash = "";
    this.showLogin(message);
  }

  /** Call the API; throws ApiError with the server's words. A refused token sends the user back to sign in. */
  async api(method, path, body) {
    const headers = { Accept: "application/json", Authorization: "Bearer " + this.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store" });
    } catch (error) {
      throw new ApiError(0, "the server cannot be reached: check your connection");
    }
    let data = null;
    try { data = await response.json(); } catch (error) { /* empty body */ }
    if (!response.ok) {
      const detail = data && typeof data.detail === "string" ? data.detail : `${response.status} ${response.statusText}`;
      if (response.status === 401 && !this.appView.hidden) this.signOut(detail);
      throw new ApiError(response.status, detail);
    }
    return data;
  }
}

/** "in 2 h 05 min" / "3 min overdue" for a number of milliseconds from now. */
function countdown(ms) {
  const minutes = Math.round(Math.abs(ms) / 60000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const span = days ? `${days} d ${hours} h` : hours ? `${hours} h ${String(rest).padStart(2, "0")} min` : `${rest} min`;
  return ms >= 0 ? `in ${span}` : `${span} overdue`;
}

/** How close a deadline is, as a class: ok, soon, near or late (by the share of the time already used). */
function urgency(createdAt, dueAt, now = Date.now()) {
  const start = Date.parse(createdAt);
  const due = Date.parse(dueAt);
  if (Number.isNaN(due)) return "none";
  if (now >= due) return "late";
  const used = Number.isNaN(start) || due <= start ? 0 : (now - start) / (due - start);
  return used >= 0.75 ? "near" : used >= 0.5 ? "soon" : "ok";
}

function when(iso) {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? "" : new Date(time).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** Show a short message in a live region (and clear it after a while). */
function announce(text, isError = false) {
  const box = document.getElementById("notice");
  box.textContent = text;
  box.className = isError ? "notice error" : "notice";
  clearTimeout(announce.timer);
  announce.timer = setTimeout(() => { box.textContent = ""; }, 8000);
}

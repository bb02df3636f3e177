// What every page of the review app shares: the API helper (session, CSRF token, case,
// and the break the server may enforce), the status line, the header's controls, the
// login form and the break countdown. No framework, no build step, nothing from elsewhere.

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? "";
export const caseKey = meta("vigil-case");

/** The URL with this page's case added, so every call names the case it is about. */
export function withCase(url) {
  if (!caseKey || /[?&]case=/.test(url)) return url;
  return url + (url.includes("?") ? "&" : "?") + "case=" + encodeURIComponent(caseKey);
}

/** Call the API; a due break (423) or a lost session (401) leaves the page at once. */
export async function api(method, url, body) {
  const answer = await fetch(withCase(url), {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": meta("csrf-token") },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (answer.status === 423) {
    location.assign(withCase("/break"));
    throw new Error("time for a break");
  }
  if (answer.status === 401 && !url.startsWith("/api/login")) {
    location.assign("/login");
    throw new Error("logged out");
  }
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) throw new Error(data.detail || `${answer.status} ${answer.statusText}`);
  return data;
}

export function status(text) {
  const line = document.getElementById("status");
  if (line) line.textContent = text;
}

/** Redraw the header's exposure figures (after a reveal has ended). */
export async function refreshExposure() {
  const bar = document.getElementById("exposure");
  if (!bar) return;
  const today = await api("GET", "/api/me/exposure");
  const set = (id, text) => (document.getElementById(id).textContent = text);
  set("exp-reveals", String(today.reveals));
  set("exp-seconds", String(Math.round(today.reveal_seconds)));
  set("exp-severe", String(Math.round(today.severe_share * 100)));
  let budget = "";
  if (today.over_budget) budget = ` · over today's budget of ${today.budget} reveals`;
  else if (today.near_budget) budget = ` · near today's budget of ${today.budget} reveals`;
  set("exp-budget", budget);
}

function loginForm(form) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    try {
      await api("POST", "/api/login", {
        username: fields.get("username"),
        password: fields.get("password"),
      });
      location.assign("/");
    } catch (error) {
      status(error.message);
    }
  });
}

function header() {
  document.getElementById("logout")?.addEventListener("click", async () => {
    await api("POST", "/api/logout").catch(() => undefined);
    location.assign("/login");
  });
  const chooser = document.getElementById("rendering");
  chooser?.addEventListener("change", async () => {
    chooser.blur(); // the keys are the tiles' again
    try {
      await api("POST", "/api/me/rendering", { mode: chooser.value });
      document.dispatchEvent(new CustomEvent("vigil:rendering", { detail: chooser.value }));
      status(`Thumbnails now ${chooser.value}`);
    } catch (error) {
      status(`Could not change the rendering: ${error.message}`);
    }
  });
}

/** Count down to the break's end on the server's clock (the page says what time the
 *  server had), and go back once the server says the break is over. */
function breakPage(section) {
  const back = section.dataset.back;
  if (!section.dataset.until) return;
  const skew = Date.parse(section.dataset.now) - Date.now();
  let until = Date.parse(section.dataset.until);
  const countdown = document.getElementById("countdown");
  const tick = () => {
    const left = Math.max(0, Math.ceil((until - Date.now() - skew) / 1000));
    countdown.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
  };
  const poll = async () => {
    const today = await api("GET", "/api/me/exposure").catch(() => null);
    if (today && !today.break.due) location.assign(back);
    else if (today?.break.until) until = Date.parse(today.break.until);
  };
  tick();
  setInterval(tick, 1000);
  setInterval(poll, 5000);
}

const form = document.getElementById("login-form");
if (form) loginForm(form);
header();
const pause = document.getElementById("break");
if (pause) breakPage(pause);

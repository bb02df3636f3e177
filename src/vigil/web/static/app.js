// The review app's one script: log in and out, move with the keys, decide, undo, reveal one
// item for a few seconds, choose the rendering, count down a break. No library, no
// external request: the Content-Security-Policy allows only this origin.
"use strict";

const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content || "";
const caseKey = meta("case");
const statusLine = () => document.getElementById("status");
const say = (text) => { const s = statusLine(); if (s) s.textContent = text; };

async function call(method, url, body) {
  const sep = url.includes("?") ? "&" : "?";
  const full = caseKey && !url.includes("case=") ? `${url}${sep}case=${encodeURIComponent(caseKey)}` : url;
  const answer = await fetch(full, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": meta("csrf") },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (answer.status === 423) { window.location = `/break?case=${encodeURIComponent(caseKey)}`; }
  if (answer.status === 401) { window.location = "/login"; }
  const data = await answer.json().catch(() => ({}));
  if (!answer.ok) { throw new Error(data.detail || `error ${answer.status}`); }
  return data;
}

function setUpLogin() {
  const form = document.getElementById("login-form");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    try {
      await call("POST", "/api/login", { username: fields.get("username"), password: fields.get("password") });
      window.location = "/";
    } catch (error) { say(error.message); }
  });
}

function setUpHeader() {
  document.getElementById("logout")?.addEventListener("click", async () => {
    await call("POST", "/api/logout", {}).catch(() => {});
    window.location = "/login";
  });
  document.getElementById("rendering")?.addEventListener("change", async (event) => {
    await call("POST", "/api/me/rendering", { mode: event.target.value });
    for (const img of document.querySelectorAll("img.thumb")) {
      img.src = img.src.replace(/&r=\d+|$/, `&r=${Date.now()}`);
    }
    say(`Rendering: ${event.target.value}`);
  });
}

// --- tiles: selection, keys, decisions, reveal ---------------------------------------------

let selected = -1;
let lastCategory = null;
let lastDecision = null;
let revealed = null; // {tile, img, src, id, started, timer}
const tiles = () => Array.from(document.querySelectorAll("figure.tile"));

function select(index) {
  const all = tiles();
  if (!all.length) return;
  redegrade();
  selected = Math.max(0, Math.min(all.length - 1, index));
  all.forEach((t, i) => t.classList.toggle("selected", i === selected));
  all[selected].focus({ preventScroll: false });
}

function perRow() {
  const all = tiles();
  if (all.length < 2) return 1;
  const top = all[0].offsetTop;
  const n = all.findIndex((t) => t.offsetTop !== top);
  return n === -1 ? all.length : n;
}

async function decide(category, wholeGroup) {
  const all = tiles();
  const marked = all.filter((t) => t.classList.contains("marked"));
  const targets = marked.length && !wholeGroup ? marked : [all[selected]].filter(Boolean);
  let files = 0;
  try {
    for (const tile of targets) {
      const body = wholeGroup && tile.dataset.group
        ? { group: tile.dataset.group, category }
        : { sha256: tile.dataset.sha256, category };
      const outcome = await call("POST", "/api/decisions", body);
      files += outcome.files || 0;
      lastDecision = wholeGroup && tile.dataset.group ? { group: tile.dataset.group } : { sha256: tile.dataset.sha256 };
      tile.dataset.decided = String(category);
      tile.querySelector("figcaption")?.append(` → ${category}`);
    }
    marked.forEach((t) => t.classList.remove("marked"));
    say(`${files} file${files === 1 ? "" : "s"} decided: category ${category}${wholeGroup ? " (whole group)" : ""}`);
  } catch (error) { say(error.message); }
}

async function undo() {
  if (!lastDecision) { say("Nothing to undo in this page."); return; }
  try {
    const outcome = await call("POST", "/api/decisions/undo", lastDecision);
    say(`Undone: ${outcome.files} file${outcome.files === 1 ? "" : "s"}`);
    lastDecision = null;
  } catch (error) { say(error.message); }
}

async function reveal() {
  const tile = tiles()[selected];
  const img = tile?.querySelector("img.thumb");
  if (!img) return;
  if (revealed && revealed.tile === tile) { redegrade(); return; }
  redegrade();
  try {
    const answer = await call("POST", `/api/files/${tile.dataset.id}/reveal`, {});
    revealed = { tile, img, src: img.src, id: answer.reveal, started: performance.now() };
    img.src = answer.url;
    revealed.timer = setTimeout(redegrade, answer.show_seconds * 1000);
    say(`Revealed for ${answer.show_seconds} s · ${answer.reveals_today} today${answer.over_budget ? " · budget reached" : ""}`);
  } catch (error) { say(error.message); }
}

function redegrade() {
  if (!revealed) return;
  const { img, src, id, started, timer } = revealed;
  clearTimeout(timer);
  img.src = src;
  const seconds = (performance.now() - started) / 1000;
  call("POST", `/api/reveals/${id}/end`, { seconds }).catch(() => {});
  revealed = null;
}

function onKey(event) {
  if (event.target.matches("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  const row = perRow();
  const moves = { ArrowLeft: -1, h: -1, ArrowRight: 1, l: 1, ArrowUp: -row, k: -row, ArrowDown: row, j: row };
  if (key in moves) { select(selected < 0 ? 0 : selected + moves[key]); event.preventDefault(); return; }
  if (/^[0-9]$/.test(key)) { lastCategory = Number(key); decide(lastCategory, false); return; }
  if (key === "g") {
    if (lastCategory === null) { say("Type a category number first, then g for the whole group."); return; }
    decide(lastCategory, true); return;
  }
  if (key === "u") { undo(); return; }
  if (key === " ") { event.preventDefault(); reveal(); return; }
  if (key === "x") { tiles()[selected]?.classList.toggle("marked"); return; }
  if (key === "Enter") { tiles()[selected]?.querySelector("a")?.click(); return; }
  if (key === "?") { window.location = `/keys?case=${encodeURIComponent(caseKey)}`; }
}

function setUpTiles() {
  if (!tiles().length) return;
  tiles().forEach((tile, i) => tile.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    if (i === selected) { reveal(); } else { select(i); }
  }));
  document.addEventListener("keydown", onKey);
  window.addEventListener("pagehide", redegrade);
  select(0);
}

function setUpBreak() {
  const countdown = document.getElementById("countdown");
  if (!countdown || !countdown.dataset.until) return;
  const until = new Date(countdown.dataset.until).getTime();
  const tick = async () => {
    const left = Math.max(0, Math.round((until - Date.now()) / 1000));
    countdown.textContent = `${Math.floor(left / 60)} min ${left % 60} s left`;
    if (left === 0) {
      const state = await call("GET", "/api/me/exposure").catch(() => null);
      if (state && !state.break.due) { window.location = `/queue?case=${encodeURIComponent(caseKey)}`; return; }
    }
    setTimeout(tick, 1000);
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  setUpLogin();
  setUpHeader();
  setUpTiles();
  setUpBreak();
});

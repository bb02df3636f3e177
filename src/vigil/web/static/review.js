// The keys of the queue, the grid and a file's page: move between tiles, decide the
// selected items or a whole group, undo, and reveal one item for a few seconds. A tile is
// <figure class="tile" data-id data-sha256 data-group>; only a revealed tile's <img> ever
// points at an undegraded picture, and only until it re-degrades.

import { api, refreshExposure, status, withCase } from "./app.js";

const labels = new Map(
  [...document.querySelectorAll("#categories tr[data-code]")].map((row) => [
    Number(row.dataset.code),
    row.querySelector(".label").textContent,
  ]),
);
const tiles = () => [...document.querySelectorAll("figure.tile")];
const bulk = new Set();
const done = []; // decisions made on this page, newest last, for `u`
let selected = null;
let lastCategory = null;
let shown = null; // the revealed tile: {tile, img, degraded, reveal, since, timer}

function select(tile) {
  if (!tile || tile === selected) return;
  if (shown) hide();
  selected?.classList.remove("selected");
  selected = tile;
  tile.classList.add("selected");
  tile.focus();
}

/** The tile next to the selected one: along the page order for left/right, and for
 *  up/down the nearest tile of the nearest row in that direction. */
function neighbour(dx, dy) {
  const all = tiles();
  if (!selected) return all[0];
  if (dy === 0) return all[all.indexOf(selected) + dx];
  const here = selected.getBoundingClientRect();
  const middle = (r) => r.left + r.width / 2;
  const rows = all
    .map((t) => ({ t, r: t.getBoundingClientRect() }))
    .filter(({ r }) => (dy > 0 ? r.top >= here.bottom - 1 : r.bottom <= here.top + 1));
  if (!rows.length) return null;
  const nearest = dy > 0 ? Math.min(...rows.map(({ r }) => r.top)) : Math.max(...rows.map(({ r }) => r.top));
  const row = rows.filter(({ r }) => Math.abs(r.top - nearest) < 2);
  row.sort((a, b) => Math.abs(middle(a.r) - middle(here)) - Math.abs(middle(b.r) - middle(here)));
  return row[0].t;
}

const named = (code) => `${code} ${labels.get(code) ?? ""}`.trim();
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function mark(tile, text) {
  const verdict = tile.querySelector(".verdict");
  const before = verdict.textContent;
  verdict.textContent = text;
  tile.classList.add("decided");
  return before;
}

function voteNote(outcome) {
  if (outcome.decided === outcome.contents) return "";
  return ` (${outcome.decided} of ${outcome.contents} decided; more reviewers must agree)`;
}

async function decide(code) {
  if (!labels.has(code)) return status(`No category ${code} in this case's scheme`);
  const chosen = bulk.size ? [...bulk] : selected ? [selected] : [];
  const hashes = [...new Set(chosen.map((t) => t.dataset.sha256).filter(Boolean))];
  if (!hashes.length) return status("Select an item first");
  lastCategory = code;
  try {
    let note = "";
    for (const sha256 of hashes) {
      note = voteNote(await api("POST", "/api/decisions", { sha256, category: code })) || note;
    }
    const affected = tiles().filter((t) => hashes.includes(t.dataset.sha256));
    done.push({ targets: hashes.map((sha256) => ({ sha256 })), tiles: affected.map((t) => [t, mark(t, named(code))]) });
    clearBulk();
    status(`${plural(chosen.length, "file")} decided: ${named(code)}${note} · g gives it to the whole group`);
  } catch (error) {
    status(`Could not decide: ${error.message}`);
  }
}

async function decideGroup() {
  if (!selected?.dataset.group) return status("Select an item of a group first");
  if (lastCategory === null) return status("Press a number first: g gives that category to the whole group");
  const group = selected.dataset.group;
  try {
    const outcome = await api("POST", "/api/decisions", { group, category: lastCategory });
    const affected = tiles().filter((t) => t.dataset.group === group);
    done.push({ targets: [{ group }], tiles: affected.map((t) => [t, mark(t, named(lastCategory))]) });
    status(`Group ${group} decided: ${named(lastCategory)}, ${plural(outcome.contents, "content")}${voteNote(outcome)}`);
  } catch (error) {
    status(`Could not decide the group: ${error.message}`);
  }
}

async function undo() {
  const last = done.pop();
  if (!last) return status("Nothing decided on this page to undo");
  try {
    let files = 0;
    for (const target of last.targets) files += (await api("POST", "/api/decisions/undo", target)).files;
    for (const [tile, before] of last.tiles.reverse()) {
      tile.querySelector(".verdict").textContent = before;
      tile.classList.toggle("decided", done.some((d) => d.tiles.some(([t]) => t === tile)));
    }
    status(`Undone: the decision on ${plural(files, "file")}`);
  } catch (error) {
    done.push(last);
    status(`Could not undo: ${error.message}`);
  }
}

async function reveal() {
  const img = selected?.querySelector("img.thumb");
  if (!img) return status("Nothing to reveal here");
  if (shown) hide();
  const tile = selected;
  try {
    const answer = await api("POST", `/api/files/${tile.dataset.id}/reveal`);
    if (tile !== selected) return; // moved on while asking: show nothing
    shown = { tile, img, degraded: img.getAttribute("src"), reveal: answer.reveal, since: null, timer: null };
    const current = shown;
    img.addEventListener(
      "load",
      () => {
        current.since = performance.now();
        current.timer = setTimeout(() => shown === current && hide(), answer.show_seconds * 1000);
      },
      { once: true },
    );
    img.addEventListener("error", () => shown === current && hide(), { once: true });
    img.src = answer.url;
    tile.classList.add("revealed");
    const budget = answer.over_budget ? ` — over today's budget of ${answer.budget}` : "";
    status(`File ${tile.dataset.id} revealed for ${answer.show_seconds} s · ${plural(answer.reveals_today, "reveal")} today${budget}`);
  } catch (error) {
    status(`Could not reveal: ${error.message}`);
  }
}

/** Put the degraded thumbnail back and tell the server how long the item was on screen. */
function hide() {
  const { tile, img, degraded, reveal: id, since, timer } = shown;
  shown = null;
  clearTimeout(timer);
  img.src = degraded;
  tile.classList.remove("revealed");
  const seconds = since === null ? 0 : (performance.now() - since) / 1000;
  api("POST", `/api/reveals/${id}/end`, { seconds: Math.round(seconds * 10) / 10 })
    .then(refreshExposure)
    .catch(() => undefined);
}

function toggleBulk() {
  if (!selected) return;
  if (bulk.has(selected)) bulk.delete(selected);
  else bulk.add(selected);
  selected.classList.toggle("bulk", bulk.has(selected));
  status(`${plural(bulk.size, "item")} in the bulk selection: a number key decides them all · Esc clears`);
}

function clearBulk() {
  for (const tile of bulk) tile.classList.remove("bulk");
  bulk.clear();
}

function toggleKeys(open) {
  const overlay = document.getElementById("keys");
  if (overlay) overlay.hidden = !(open ?? overlay.hidden);
}

const moves = {
  ArrowLeft: [-1, 0], h: [-1, 0],
  ArrowRight: [1, 0], l: [1, 0],
  ArrowUp: [0, -1], k: [0, -1],
  ArrowDown: [0, 1], j: [0, 1],
}; // prettier-ignore

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest?.("input, select, textarea, button")) return;
  const key = event.key;
  if (key in moves) select(neighbour(...moves[key]));
  else if (/^[0-9]$/.test(key)) decide(Number(key));
  else if (key === "g") decideGroup();
  else if (key === "u") undo();
  else if (key === " ") reveal();
  else if (key === "x") toggleBulk();
  else if (key === "?") toggleKeys();
  else if (key === "Escape") {
    clearBulk();
    toggleKeys(false);
    status("Bulk selection cleared");
  } else if (key === "Enter" && selected) location.assign(withCase(`/files/${selected.dataset.id}`));
  else return;
  event.preventDefault();
});

for (const tile of tiles()) tile.addEventListener("focus", () => select(tile));

document.addEventListener("vigil:rendering", (event) => {
  if (shown) hide();
  for (const img of document.querySelectorAll("figure.tile img.thumb")) {
    const url = new URL(img.getAttribute("src"), location.href);
    url.searchParams.set("mode", event.detail);
    img.src = url.pathname + url.search;
  }
});

select(tiles()[0]);

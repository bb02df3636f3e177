"""The review app in a real browser (Playwright driving Debian's chromium) against a real
server on 127.0.0.1: log in, see degraded thumbnails (measured in the screenshot, not
trusted from a class), reveal one item and watch it re-degrade, decide a group with the
keyboard, and the refusals a browser must meet. Skips only where no browser is installed."""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select, text

from tests.web.conftest import PASSWORD
from vigil.store import CaseStore
from vigil.store.audit import verify
from vigil.store.schema import audit, files
from vigil.web import create_app

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(
        "no Chromium at /usr/bin/chromium (Debian package chromium)", allow_module_level=True
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(case_dir: Path) -> Iterator[str]:
    import uvicorn

    (case_dir / "vigil.toml").write_text("reveal_seconds = 2\n")
    port = free_port()
    config = uvicorn.Config(
        create_app([case_dir]), host="127.0.0.1", port=port, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "the review server did not start"
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator:
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


def logged_in(browser, base: str, name: str = "rui"):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/queue")
    assert page.url.endswith("/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/queue?case=case")
    return context, page


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.float64)


def saturation(rgb: np.ndarray) -> float:
    return float((rgb.max(axis=2) - rgb.min(axis=2)).mean())


def detail(rgb: np.ndarray) -> float:
    """Fine-detail energy (Laplacian variance) of the middle of the picture, clear of the
    letterbox bars around a contained image."""
    h, w = rgb.shape[:2]
    grey = rgb[int(h * 0.35) : int(h * 0.65), int(w * 0.2) : int(w * 0.8)].mean(axis=2)
    lap = grey[1:-1, 1:-1] * 4 - grey[:-2, 1:-1] - grey[2:, 1:-1] - grey[1:-1, :-2] - grey[1:-1, 2:]
    return float(lap.var())


def tile_of(page, name: str, case_dir: Path):
    with CaseStore.open(case_dir) as store, store.engine.connect() as conn:
        file_id = conn.execute(select(files.c.id).where(files.c.path.like(f"%{name}"))).scalar()
    return page.locator(f'figure.tile[data-id="{file_id}"]'), file_id


def test_thumbnails_are_degraded_and_one_reveal_shows_the_item_then_degrades(
    server: str, browser, case_dir: Path, built_case: Path
) -> None:
    context, page = logged_in(browser, server)
    page.goto(f"{server}/grid?case=case&state=all")
    tile, _ = tile_of(page, "scene.jpg", case_dir)
    img = tile.locator("img.thumb")
    img.evaluate("i => i.decode()")
    shot = pixels(img.screenshot())
    source = next(built_case.parent.rglob("scene.jpg"))
    original = np.asarray(
        Image.open(source).convert("RGB").resize((shot.shape[1], shot.shape[0])), dtype=np.float64
    )
    assert saturation(original) > 40 and saturation(shot) < 3
    assert detail(shot) < detail(original) / 20
    tile.click()  # select
    page.keyboard.press(" ")
    page.wait_for_function("i => i.src.includes('/media/reveal/')", arg=img.element_handle())
    img.evaluate("i => i.decode()")
    page.wait_for_timeout(300)
    shown = pixels(img.screenshot())
    assert saturation(shown) > 20  # colour: the item itself, only now
    page.wait_for_function("i => !i.src.includes('/media/reveal/')", arg=img.element_handle(),
                           timeout=6000)  # fmt: skip
    img.evaluate("i => i.decode()")
    page.wait_for_timeout(300)
    assert saturation(pixels(img.screenshot())) < 3
    context.close()
    with CaseStore.open(case_dir) as store, store.engine.connect() as conn:
        logged = conn.execute(select(audit.c.actor).where(audit.c.action == "reveal")).all()
    assert logged == [("rui",)]


def test_a_group_is_decided_with_the_keyboard(server: str, browser, case_dir: Path) -> None:
    context, page = logged_in(browser, server)
    page.goto(f"{server}/grid?case=case&state=review")
    tile, _ = tile_of(page, "scene-small.jpg", case_dir)
    group = tile.get_attribute("data-group")
    assert group and group.startswith("c")
    tile.click()
    page.keyboard.press("2")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('decided')"
    )
    page.keyboard.press("g")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('whole group')"
    )
    context.close()
    with CaseStore.open(case_dir) as store, store.engine.connect() as conn:
        rows = conn.execute(
            select(files.c.path, files.c.state, files.c.category).where(
                files.c.path.like("%scene%")
            )
        ).all()
    assert len(rows) >= 2 and {(r.state, r.category) for r in rows} == {("decided", 2)}


def test_refusals_a_browser_meets(server: str, browser, case_dir: Path) -> None:
    context, page = logged_in(browser, server)
    _, file_id = tile_of(page, "scene.jpg", case_dir)
    made = page.evaluate(
        """async (id) => {
          const csrf = (await (await fetch('/api/me')).json()).csrf_token;
          const r = await fetch(`/api/files/${id}/reveal`, {method: 'POST',
            headers: {'X-CSRF-Token': csrf, 'Content-Type': 'application/json'}, body: '{}'});
          return (await r.json()).url;
        }""",
        file_id,
    )
    first = page.request.get(f"{server}{made}")
    again = page.request.get(f"{server}{made}")
    assert first.status == 200 and again.status == 410
    stranger = browser.new_context()
    refused = stranger.request.get(f"{server}/api/files/{file_id}/thumbnail?case=case")
    assert refused.status == 401
    stranger.close()
    context.close()
    with CaseStore.open(case_dir) as store:
        assert verify(store).ok
        with store.engine.begin() as conn:
            target = conn.execute(select(audit.c.id).where(audit.c.action == "login")).scalar()
            conn.execute(text("UPDATE audit SET actor = 'someone' WHERE id = :i"), {"i": target})
        assert verify(store).broken_id == target

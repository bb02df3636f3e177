"""The review app in a real browser (Playwright driving Debian's chromium) against a real
server: log in through the form, measure that thumbnails really are degraded, reveal one
item and see it re-degrade, decide a group with the keyboard, and the refusals a browser
meets (no session, a reused reveal URL); the audit chain holds after it all."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select, text

from tests.web.conftest import PASSWORD, Clock
from vigil.store import CaseStore
from vigil.store.audit import verify
from vigil.store.schema import audit, reveals
from vigil.web import create_app
from vigil.web.listing import Filters, page

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = sync_api.expect
SCENE = 9  # phone/scene.jpg: one of the near-duplicate cluster (conftest.build_case)


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on a free loopback port in a thread; yields its base URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the review server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip("no Chromium at /usr/bin/chromium (Debian package chromium)")
    with sync_api.sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Live:
    url: str
    case_dir: Path
    browser: Any
    errors: list[str]  # failed responses, console errors (CSP refusals), uncaught exceptions

    def page(self, viewport: tuple[int, int] = (1280, 800)) -> Any:
        context = self.browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        opened = context.new_page()
        opened.on(
            "response", lambda r: r.status >= 400 and self.errors.append(f"{r.status} {r.url}")
        )
        opened.on("console", lambda m: self._console(m))
        opened.on("pageerror", lambda e: self.errors.append(str(e)))
        return opened

    def _console(self, message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)  # a failed load is listed as its response

    def login(self, name: str = "rui") -> Any:
        opened = self.page()
        opened.goto(f"{self.url}/login")
        opened.fill("input[name=username]", name)
        opened.fill("input[name=password]", PASSWORD)
        opened.click("button[type=submit]")
        opened.wait_for_url("**/queue?case=case")
        return opened


@pytest.fixture
def live(browser: Any, case_dir: Path) -> Iterator[Callable[..., Live]]:
    """live(clock=None, **settings) → the case served for real, those settings in its
    vigil.toml, on that clock (the real one by default)."""
    with ExitStack() as running:

        def start(clock: Clock | None = None, **settings: int) -> Live:
            toml = "".join(f"{key} = {value}\n" for key, value in settings.items())
            (case_dir / "vigil.toml").write_text(toml)
            app = create_app([case_dir], clock=clock) if clock else create_app([case_dir])
            url = running.enter_context(live_server(app))
            return Live(url, case_dir, browser, [])

        yield start


def tile(opened: Any, file_id: int) -> Any:
    return opened.locator(f'figure.tile[data-id="{file_id}"]')


def loaded_picture(opened: Any, file_id: int, part: str) -> Image.Image:
    """A screenshot of the tile's picture once its `src` holds `part` and it has loaded."""
    img = tile(opened, file_id).locator("img.thumb")
    img.scroll_into_view_if_needed()
    expect(img).to_have_attribute("src", re.compile(re.escape(part)))
    expect(img).to_have_js_property("complete", True)
    assert img.evaluate("i => i.naturalWidth") > 0
    return Image.open(io.BytesIO(img.screenshot())).convert("RGB")


def saturation(picture: Image.Image) -> float:
    return float(np.asarray(picture.convert("HSV"))[..., 1].mean())


def detail(picture: Image.Image) -> float:
    """Variance of the Laplacian: how much fine, high-frequency detail a picture holds."""
    g = np.asarray(picture.convert("L"), dtype=np.float64)
    lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
    return float(lap.var())


def original(live: Live, file_id: int, size: tuple[int, int]) -> Image.Image:
    with CaseStore.open(live.case_dir) as store:
        found = page(store, Filters(), limit=500)["items"]
    item = next(i for i in found if i["id"] == file_id)
    picture = Image.open(Path(item["source"]) / item["path"]).convert("RGB")
    return picture.resize(size, Image.Resampling.LANCZOS)


def group_states(live: Live, group: str) -> dict[int, tuple[str, int | None]]:
    with CaseStore.open(live.case_dir) as store:
        found = page(store, Filters(group=group), limit=500)["items"]
    return {i["id"]: (i["state"], i["category"]) for i in found}


def test_log_in_through_the_form(live) -> None:
    served = live()
    opened = served.page()
    opened.goto(f"{served.url}/queue")
    assert opened.url == f"{served.url}/login"  # no session: the page sends the browser here
    opened.fill("input[name=username]", "rui")
    opened.fill("input[name=password]", "not the password")
    opened.click("button[type=submit]")
    expect(opened.locator("#status")).to_contain_text("wrong")
    opened.fill("input[name=password]", PASSWORD)
    opened.click("button[type=submit]")
    opened.wait_for_url("**/queue?case=case")
    assert "rui · reviewer" in opened.locator("#bar").inner_text()
    assert opened.locator("figure.tile img.thumb").count() >= 6
    opened.click("#logout")
    opened.wait_for_url("**/login")
    assert opened.context.request.get(f"{served.url}/api/me").status == 401
    assert served.errors == [f"401 {served.url}/api/login"]  # the wrong password


def test_thumbnails_are_degraded_and_one_reveal_shows_colour_then_re_degrades(live) -> None:
    served = live(reveal_seconds=1)
    opened = served.login()
    opened.goto(f"{served.url}/grid?case=case")
    degraded = loaded_picture(opened, SCENE, "/thumbnail")
    source = original(served, SCENE, degraded.size)
    assert min(degraded.size) >= 100
    # Measured, not trusted to a CSS class: no colour, and a fraction of the detail.
    assert saturation(source) > 60 and saturation(degraded) < 3
    assert detail(degraded) < 0.05 * detail(source)

    tile(opened, SCENE).click()
    others = opened.eval_on_selector_all(
        f'figure.tile:not([data-id="{SCENE}"]) img.thumb', "imgs => imgs.map(i => i.src)"
    )
    with opened.expect_response(lambda r: "/api/reveals/" in r.url) as ended:
        opened.keyboard.press("Space")
        shown = loaded_picture(opened, SCENE, "/media/reveal/")
        assert saturation(shown) > 0.5 * saturation(source)
        assert detail(shown) > 5 * detail(degraded)
        assert "revealed for 1 s" in opened.locator("#status").inner_text()
        assert (
            opened.eval_on_selector_all(
                f'figure.tile:not([data-id="{SCENE}"]) img.thumb', "imgs => imgs.map(i => i.src)"
            )
            == others
        )  # only that item
        again = loaded_picture(opened, SCENE, "/thumbnail")  # back after show_seconds
    assert ended.value.status == 200
    assert saturation(again) < 3
    with CaseStore.open(served.case_dir) as store, store.engine.connect() as conn:
        rows = conn.execute(select(reveals.c.file_id, reveals.c.seconds)).all()
    assert len(rows) == 1 and rows[0].file_id == SCENE and 0.5 <= rows[0].seconds < 3
    expect(opened.locator("#exp-reveals")).to_have_text("1")
    assert served.errors == []


def test_decide_a_group_with_the_keyboard(live) -> None:
    served = live()
    opened = served.login()
    opened.goto(f"{served.url}/grid?case=case")
    group = tile(opened, SCENE).get_attribute("data-group")
    members = group_states(served, group)
    assert len(members) == 3 and {s for s, _ in members.values()} == {"review"}
    tile(opened, SCENE - 1).click()
    opened.keyboard.press("l")  # the tile to the right: the next file, scene.jpg
    assert "selected" in tile(opened, SCENE).get_attribute("class")
    status = opened.locator("#status")

    opened.keyboard.press("2")
    expect(opened.locator("#status")).to_contain_text("decided")
    assert status.inner_text().startswith("1 file decided: 2 Child Exploitive")
    after = group_states(served, group)
    assert after.pop(SCENE) == ("decided", 2)
    assert {s for s, _ in after.values()} == {"review"}  # a number key decides the item only

    opened.keyboard.press("g")
    expect(opened.locator("#status")).to_contain_text(re.compile("^Group"))
    assert status.inner_text().startswith(f"Group {group} decided: 2 Child Exploitive")
    assert set(group_states(served, group).values()) == {("decided", 2)}
    assert opened.locator("figure.tile.decided").count() == 3

    opened.keyboard.press("u")  # takes back the group decision, not the item's
    expect(opened.locator("#status")).to_contain_text(re.compile("^Undone"))
    after = group_states(served, group)
    assert after.pop(SCENE) == ("decided", 2)
    assert {s for s, _ in after.values()} == {"review"}
    assert served.errors == []


def test_bulk_selection_decides_every_marked_tile(live) -> None:
    served = live()
    opened = served.login()
    opened.goto(f"{served.url}/grid?case=case")
    singles = [3, 4, 5]  # other-21/22/23.png, each a group of its own
    for file_id in singles[:2]:
        tile(opened, file_id).click()
        opened.keyboard.press("x")
    assert opened.locator("figure.tile.bulk").count() == 2
    opened.keyboard.press("0")
    expect(opened.locator("#status")).to_contain_text("decided")
    assert opened.locator("#status").inner_text().startswith("2 files decided: 0 Non-Pertinent")
    states = {i: group_states(served, f"f{i}")[i] for i in singles}
    assert states == {3: ("decided", 0), 4: ("decided", 0), 5: ("review", None)}
    assert opened.locator("figure.tile.bulk").count() == 0
    assert served.errors == []


def test_the_rendering_chooser_redraws_every_thumbnail_and_is_kept(live) -> None:
    served = live()
    opened = served.login()
    opened.goto(f"{served.url}/grid?case=case")
    blurred = loaded_picture(opened, SCENE, "/thumbnail")
    opened.select_option("#rendering", "line-drawing")
    drawn = loaded_picture(opened, SCENE, "mode=line-drawing")
    count = opened.locator("figure.tile img.thumb").count()
    assert opened.locator('img.thumb[src*="mode=line-drawing"]').count() == count
    assert saturation(drawn) < 3 and detail(drawn) > 5 * detail(blurred)  # edges, not blur
    opened.reload()
    assert opened.locator("#rendering").input_value() == "line-drawing"
    again = np.asarray(loaded_picture(opened, SCENE, "/thumbnail"), dtype=int)
    assert np.abs(again - np.asarray(drawn, dtype=int)).max() <= 8  # drawn, from the server
    assert served.errors == []


def test_the_break_page_counts_down_and_returns_when_the_break_is_over(live) -> None:
    clock = Clock()
    served = live(clock)
    opened = served.login()
    opened.wait_for_load_state("networkidle")  # its thumbnails are in before time moves on
    for _ in range(6):  # 54 minutes of reviewing, a request every 9: the stretch is 50
        clock.advance(minutes=9)
        opened.request.get(f"{served.url}/api/queue?case=case")
    opened.goto(f"{served.url}/grid?case=case")
    assert opened.url == f"{served.url}/break?case=case"  # the case comes back with it
    # The server's clock is not the browser's: the page counts from what the server said.
    expect(opened.locator("#countdown")).to_have_text(re.compile(r"^9:5\d$"))
    clock.advance(minutes=10)
    opened.wait_for_url("**/queue?case=case", timeout=10_000)  # it polls every 5 s
    assert served.errors == []


def test_media_refusals_in_the_browser(live) -> None:
    served = live(reveal_seconds=30)
    fresh = served.page()
    thumb = f"{served.url}/api/files/{SCENE}/thumbnail?case=case"
    assert fresh.goto(thumb).status == 401  # no session: no picture, even degraded
    assert fresh.context.request.get(thumb).status == 401

    opened = served.login()
    opened.goto(f"{served.url}/grid?case=case")
    tile(opened, SCENE).click()
    with opened.expect_response(lambda r: "/media/reveal/" in r.url) as first:
        opened.keyboard.press("Space")
    assert first.value.status == 200
    loaded_picture(opened, SCENE, "/media/reveal/")
    opened.keyboard.press("h")  # moving on re-degrades at once, long before 30 s
    loaded_picture(opened, SCENE, "/thumbnail")
    assert "revealed" not in tile(opened, SCENE).get_attribute("class")
    reused = opened.context.request.get(first.value.url)
    assert reused.status == 410  # single use, even in the same session
    assert fresh.context.request.get(first.value.url).status == 401
    assert served.errors == [f"401 {thumb}"]  # the fresh page's only


def test_audit_chain_verifies_after_a_browser_session_and_names_a_tampered_row(live) -> None:
    served = live(reveal_seconds=1)
    opened = served.login()
    opened.goto(f"{served.url}/grid?case=case")
    tile(opened, SCENE).click()
    with opened.expect_response(lambda r: "/api/reveals/" in r.url):
        opened.keyboard.press("Space")
    opened.keyboard.press("3")
    expect(opened.locator("#status")).to_contain_text("decided")
    opened.keyboard.press("g")
    expect(opened.locator("#status")).to_contain_text(re.compile("^Group"))
    with CaseStore.open(served.case_dir) as store:
        result = verify(store)
        assert result.ok, result.reason
        with store.engine.connect() as conn:
            actions = dict(conn.execute(select(audit.c.id, audit.c.action)).all())
        assert {"login", "reveal", "decision"} <= set(actions.values())
        entry = max(i for i, a in actions.items() if a == "reveal")
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE audit SET detail = '{}' WHERE id = :n"), {"n": entry})
        broken = verify(store)
    assert not broken.ok and broken.broken_id == entry
    assert served.errors == []

"""Rebuild docs/review-*.png: the review app's queue, grid, detail and break screens on a
generated benign case (tests/web/conftest.build_case), served on 127.0.0.1 and shot with
Playwright in Debian's chromium.

Usage: .venv/bin/python docs/make_review_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.conftest import PASSWORD, build_case  # noqa: E402
from vigil.web import create_app  # noqa: E402


class Clock:
    def __init__(self) -> None:
        self.skew = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skew


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        case = build_case(Path(tmp))
        clock = Clock()
        config = uvicorn.Config(
            create_app([case], clock=clock), host="127.0.0.1", port=8799, log_level="warning"
        )
        server = uvicorn.Server(config)
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = "http://127.0.0.1:8799"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/queue?case=case")
            shoot(page, f"{base}/queue?case=case", "review-queue.png")
            shoot(page, f"{base}/grid?case=case&state=all", "review-grid.png")
            first = page.locator("figure.tile").first.get_attribute("data-id")
            shoot(page, f"{base}/files/{first}?case=case", "review-detail.png")
            for _ in range(11):  # a stretch of reviewing, five minutes a step
                page.request.get(f"{base}/api/files?case=case")
                clock.skew += timedelta(minutes=5)
            shoot(page, f"{base}/break?case=case", "review-break.png")
            browser.close()
        server.should_exit = True


def shoot(page, url: str, name: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ROOT / "docs" / name))
    print("wrote", ROOT / "docs" / name)


if __name__ == "__main__":
    main()

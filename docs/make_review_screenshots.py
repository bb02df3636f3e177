"""Screenshots of the review app for the README: a benign generated case (the test suite's,
tests/web/conftest.py) served for real and driven in Chromium, saved as docs/review-*.png.

    .venv/bin/python docs/make_review_screenshots.py

The app's clock is a fake one the script moves on, so the break page can be shown without
waiting 50 minutes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # for tests.web

VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM = "/usr/bin/chromium"


def main() -> None:
    from playwright.sync_api import sync_playwright
    from tests.web.conftest import PASSWORD, Clock, build_case
    from tests.web.test_browser import live_server

    from vigil.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        case = build_case(Path(tmp))
        clock = Clock()
        with (
            live_server(create_app([case], clock=clock)) as url,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])

            admin = browser.new_context().request
            login = {"username": "ada", "password": PASSWORD}
            token = admin.post(f"{url}/api/login", data=login).json()["csrf_token"]
            outcome = {"text": "Child safeguarded"}
            admin.post(f"{url}/api/outcomes", data=outcome, headers={"X-CSRF-Token": token})

            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.goto(f"{url}/login")
            page.fill("input[name=username]", "rui")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/queue?case=case")
            # One earlier look, so the header has figures to show (through the API: no
            # undegraded picture appears in a screenshot).
            csrf = {"X-CSRF-Token": page.locator("meta[name=csrf-token]").get_attribute("content")}
            shown = page.request.post(f"{url}/api/files/3/reveal", headers=csrf).json()
            page.request.get(f"{url}{shown['url']}")
            page.request.post(
                f"{url}/api/reveals/{shown['reveal']}/end", data={"seconds": 4}, headers=csrf
            )

            def shot(name: str) -> None:
                page.wait_for_load_state("networkidle")
                page.screenshot(path=DOCS / f"review-{name}.png")
                print(f"wrote docs/review-{name}.png")

            page.goto(f"{url}/queue?case=case")
            shot("queue")
            page.goto(f"{url}/grid?case=case")
            page.locator('figure.tile[data-id="7"]').click()
            page.keyboard.press("x")
            page.keyboard.press("l")
            page.keyboard.press("x")
            shot("grid")
            page.goto(f"{url}/files/9?case=case")
            shot("detail")
            for _ in range(6):  # 54 minutes of reviewing: the stretch is 50
                clock.advance(minutes=9)
                page.request.get(f"{url}/api/queue?case=case")
            page.goto(f"{url}/queue?case=case")
            page.wait_for_url("**/break")
            shot("break")
            browser.close()


if __name__ == "__main__":
    main()

"""Rebuilds `docs/report.png`: a benign generated collection (three camera bodies with GPS,
small pictures, edits, archives, broken files) ingested into a new case with the demo's hash
lists, its HTML report rendered by headless Chromium with every request refused.

    .venv/bin/python docs/make_report_screenshot.py [--out docs/report.png] [--keep DIR]

Needs Playwright (`pip install playwright`) and Debian's `chromium`; no browser download.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vigil.synthetic.collection import build_collection
from vigil.synthetic.lists import build_demo_lists

HERE = Path(__file__).resolve().parent
WIDTH = 1100


def vigil(*args: object) -> None:
    script = Path(sys.executable).with_name("vigil")
    subprocess.run([str(script), "-q", *map(str, args)], check=True, stdout=subprocess.DEVNULL)


def build_case(work: Path) -> Path:
    collection, lists, case = work / "collection", work / "lists", work / "case"
    build_collection(collection, camera=75, small=60, seed=1)
    build_demo_lists(collection, lists)
    vigil("case", "create", case, "--name", "Demo case (benign generated images)")
    vigil("hashset", "import", case, lists / "partner.vics.json", "--name", "partner")
    vigil(
        "hashset",
        "import",
        case,
        lists / "nsrl-like.md5",
        "--format",
        "md5sum",
        "--kind",
        "ignorable",
        "--name",
        "nsrl-like",
    )
    vigil("ingest", case, collection)
    return case


def screenshot(html: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    refused: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.route("**/*", lambda route: (refused.append(route.request.url), route.abort()))
        page.set_content(html, wait_until="load")
        page.screenshot(path=str(out), full_page=True)
        browser.close()
    if refused:
        sys.exit(f"the report tried to fetch {refused}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "report.png")
    parser.add_argument("--keep", type=Path, help="build the case here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-report-") as tmp:
        work = args.keep or Path(tmp)
        case = build_case(work)
        vigil("report", case, "--format", "html", "-o", work / "report.html")
        screenshot((work / "report.html").read_text("utf-8"), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

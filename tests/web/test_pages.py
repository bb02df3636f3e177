"""The review app's pages, in-process: each needs a session, each renders for its roles,
known material stays out of the queue and the grid unless asked for, and no page holds
anything the CSP would block (inline script or style, or a resource from another host)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from PIL import Image

from tests.helpers import gradient_image, image_bytes
from tests.web.conftest import vigil
from vigil.store import CaseStore
from vigil.store.exposure import set_budget
from vigil.web.app import STATIC

PAGES = ("/", "/queue", "/grid", "/files/9", "/break", "/keys", "/audit")
TILE = re.compile(r'<figure class="tile" data-id="(\d+)"')


def tile_ids(html: str) -> list[int]:
    return [int(i) for i in TILE.findall(html)]


def page(served, url: str, code: int = 200) -> str:
    answer = served.client.get(url, follow_redirects=False)
    assert answer.status_code == code, (url, answer.status_code, answer.text[:300])
    return answer.text


def ids_by_name(served) -> dict[str, int]:
    listed = served.client.get("/api/files", params={"limit": 500}).json()["items"]
    return {i["path"]: i["id"] for i in listed}


def test_every_page_needs_a_session(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    for url in PAGES:
        answer = served.client.get(url, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login", url
    assert served.client.get("/api/docs").status_code == 401  # under /api/: answered, not sent
    assert "login-form" in page(served, "/login")


def test_pages_render_for_a_reviewer(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    assert served.client.get("/", follow_redirects=False).headers["location"] == "/queue?case=case"
    for url in ("/queue", "/grid", "/files/9", "/break", "/keys", "/api/docs"):
        html = page(served, url)
        assert 'id="exposure"' in html and "rui · reviewer" in html and 'id="logout"' in html
        assert 'id="status"' in html
    queue = page(served, "/queue")
    names = ids_by_name(served)
    cluster = {names[f"phone/{n}"] for n in ("scene.jpg", "scene-small.jpg", "scene-bright.png")}
    assert cluster <= set(tile_ids(queue))
    assert re.search(r'data-group="(c\d+)"', queue)
    detail = page(served, f"/files/{names['phone/scene.jpg']}")
    assert set(tile_ids(detail)) == cluster  # the file itself, then its group as similar items
    assert "phone/scene.jpg" in detail and "SHA-1" in detail and "quality" in detail
    docs = page(served, "/api/docs")
    assert "/api/decisions" in docs and "/api/files/{file_id}/reveal" in docs
    keys = page(served, "/keys")
    assert "Child Abuse Material (CAM)" in keys and "<kbd>g</kbd>" in keys
    page(served, "/audit", 403)  # a reviewer does not read the audit


def test_known_material_is_left_out_of_queue_and_grid_unless_asked_for(
    serve, case_dir: Path, tmp_path: Path
) -> None:
    # A smaller copy of the known picture: its cluster needs review and holds known files.
    more = tmp_path / "more"
    more.mkdir()
    small = gradient_image(1, (640, 480)).resize((320, 240), Image.Resampling.LANCZOS)
    (more / "known-small.jpg").write_bytes(image_bytes(small, "JPEG", quality=85))
    vigil("ingest", case_dir, more, "--workers", "1")
    served = serve(case_dir)
    served.login("rui")
    names = ids_by_name(served)
    known = {names["phone/known.jpg"], names["chat.zip!sent/known-copy.jpg"]}
    queue = served.client.get("/api/queue").json()["items"]
    mixed = next(g for g in queue if set(g["file_ids"]) & known)  # the API lists one of them
    html = page(served, "/queue")
    assert names["known-small.jpg"] in tile_ids(html)
    assert not known & set(tile_ids(html))
    assert f'data-group="{mixed["group"]}"' in html and "known from hash sets not shown" in html
    assert not known & set(tile_ids(page(served, "/grid")))
    assert set(tile_ids(page(served, "/grid?state=matched"))) == known
    assert known <= set(tile_ids(page(served, "/grid?state=any")))


def test_grid_filters_ignore_blank_fields_and_pages_by_keyset(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    default = tile_ids(page(served, "/grid"))
    blank = "/grid?case=case&state=review&category=&kind=&group=&hashset=&make=&from=&to="
    assert tile_ids(page(served, blank)) == default
    assert tile_ids(page(served, "/grid?kind=archive")) == [1]
    seen, url = [], "/grid?state=any&limit=3"
    while url:
        html = page(served, url)
        seen += tile_ids(html)
        found = re.search(r'id="next-page" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else ""
        if url:
            assert "state=any" in url and "limit=3" in url  # the filters travel with the cursor
    assert seen == sorted(seen) == list(range(1, 10))
    page(served, "/grid?hashset=x", 422)
    page(served, "/grid?group=zz", 400)


def test_detail_shows_matches_decisions_and_notes(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    names = ids_by_name(served)
    known = page(served, f"/files/{names['phone/known.jpg']}")
    match = "<td>known v1</td><td>alert</td><td>md5</td><td>0</td><td>original</td>"
    assert match in known  # set and version, kind, algorithm, distance, transform
    assert "chat.zip!sent/known-copy.jpg" in known  # every path holding the content
    sha = served.client.get(f"/api/files/{names['other-21.png']}").json()["sha256"]
    decided = served.post("/api/decisions", {"sha256": sha, "category": 0, "note": "a test card"})
    assert decided.status_code == 200
    html = page(served, f"/files/{names['other-21.png']}")
    assert "a test card" in html and "Non-Pertinent" in html and "<td>rui</td>" in html


def test_auditor_reads_the_audit_but_cannot_open_the_grid(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("aud")
    assert served.client.get("/", follow_redirects=False).headers["location"] == "/audit?case=case"
    page(served, "/grid", 403)
    page(served, "/queue", 403)
    refused = page(served, "/files/9", 403)
    assert "<h1>Not allowed</h1>" in refused and "the auditor role may not do this" in refused
    assert served.client.get("/api/files/9").json() == {
        "detail": "the auditor role may not do this"
    }
    html = page(served, "/audit")
    assert "<td>login</td>" in html and "aud · auditor" in html
    assert 'id="exposure"' not in html and 'id="rendering"' not in html
    assert "The chain verifies" in page(served, "/audit?check=1")
    with CaseStore.open(case_dir) as store, store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit SET actor = 'mallory' WHERE id = 2")
    assert "broken at entry 2" in page(served, "/audit?check=1")


def test_a_missing_file_or_bad_filter_is_a_page_saying_why(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    missing = page(served, "/files/99999", 404)
    assert "<h1>Not found</h1>" in missing and "no file 99999 in this case" in missing
    assert "<h1>Not understood</h1>" in page(served, "/grid?category=abc", 422)
    assert served.client.get("/api/files/99999").headers["content-type"] == "application/json"


def test_header_warns_at_the_budget_and_shows_the_case_outcome(serve, case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        set_budget(store, "rui", 1, actor="test")
    admin = serve(case_dir)
    admin.login("ada")
    assert admin.post("/api/outcomes", {"text": "Child safeguarded"}).status_code == 200
    served = serve(case_dir)
    served.login("rui")
    html = page(served, "/queue")
    assert "Child safeguarded" in html and "today's budget" not in html
    url = served.post("/api/files/9/reveal").json()["url"]
    assert served.client.get(url).status_code == 200
    html = page(served, "/queue")
    assert 'id="exp-reveals">1<' in html and "over today's budget of 1 reveals" in html


def test_a_due_break_sends_pages_to_the_break_page(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    for _ in range(6):  # 54 minutes of reviewing, a request every 9: the stretch is 50
        page(served, "/grid")
        served.clock.advance(minutes=9)
    answer = served.client.get("/grid", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/break"
    answer = served.client.get("/grid?case=case", follow_redirects=False)
    assert answer.headers["location"] == "/break?case=case"  # several cases need the key
    html = page(served, "/break")
    assert "Time for a break" in html and re.search(r'data-until="2026-12-03T10:04', html)
    served.clock.advance(minutes=10)
    assert "No break is due" in page(served, "/break")
    page(served, "/grid")


def test_several_cases_get_a_chooser(serve, case_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "second"
    shutil.copytree(case_dir, other)
    served = serve(case_dir, other)
    served.login("rui")
    html = page(served, "/")
    assert "/queue?case=case" in html and "/queue?case=second" in html
    page(served, "/queue", 400)  # which case? the URL must say
    assert "second" in page(served, "/queue?case=second")
    assert 'href="/grid?case=second"' in page(served, "/queue?case=second")


def test_no_page_holds_what_the_csp_would_block(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    htmls = {"/login": page(served, "/login")}
    served.login("ada")  # the admin sees every page, the audit too
    for url in (*PAGES[1:], "/api/docs", "/grid?state=any", "/files/6", "/audit?check=1"):
        htmls[url] = page(served, url)
    for url, html in htmls.items():
        for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
            assert 'src="/static/' in attrs and not body.strip(), url
        assert not re.search(r"<style\b|\sstyle\s*=|\son[a-z]+\s*=", html, re.I), url
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.I), url
    assert len(htmls) == 11
    for name in ("app.css", "app.js", "review.js"):  # nothing loaded from elsewhere either
        assert not re.search(r"https?://|@import|url\(", (STATIC / name).read_text()), name

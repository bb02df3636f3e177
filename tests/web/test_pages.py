"""The review app's pages: each needs a session, renders for its role, hides known material
by default, and carries no inline script, inline style or outside address (the CSP would
block them; these tests keep the HTML honest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGES = ["/", "/queue", "/grid", "/files/1", "/break", "/keys", "/audit"]


@pytest.mark.parametrize("url", PAGES)
def test_every_page_needs_a_session(serve, case_dir: Path, url: str) -> None:
    answer = serve(case_dir).client.get(url, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"


def test_the_api_page_needs_a_session_like_the_api(serve, case_dir: Path) -> None:
    assert serve(case_dir).client.get("/api/docs").status_code == 401


def check_html(html: str) -> None:
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline script"
    assert " style=" not in html and "<style" not in html, "inline style"
    assert not re.search(r"(?:src|href|action)=\"(?:https?:)?//", html), "outside address"
    assert re.search(r'<link rel="stylesheet" href="/static/app.css">', html)


@pytest.mark.parametrize("url", ["/login", "/queue", "/grid", "/files/1", "/break", "/keys"])
def test_pages_render_for_a_reviewer_without_inline_code(serve, case_dir: Path, url) -> None:
    served = serve(case_dir)
    served.login("rui")
    answer = served.client.get(url)
    assert answer.status_code == 200, answer.text
    check_html(answer.text)
    assert "content-security-policy" in answer.headers


def test_the_grid_hides_known_material_by_default(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    default = served.client.get("/grid").text
    known = [i for i in served.client.get("/api/files").json()["items"] if i["category"] == 1]
    assert known
    for item in known:
        assert f'data-id="{item["id"]}"' not in default
    everything = served.client.get("/grid", params={"state": "all"}).text
    assert all(f'data-id="{i["id"]}"' in everything for i in known)
    queue = served.client.get("/queue").text
    assert all(f'data-id="{i["id"]}"' not in queue for i in known)
    assert 'class="tile"' in queue


def test_the_grid_filters_and_pages(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    page = served.client.get("/grid", params={"state": "all", "kind": "image"}).text
    assert page.count('class="tile"') == 8
    assert served.client.get("/grid", params={"category": "x"}).status_code == 422


def test_the_auditor_reads_the_audit_but_sees_no_media(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("aud")
    assert served.client.get("/grid").status_code == 403
    home = served.client.get("/", follow_redirects=False)
    assert home.headers["location"].startswith("/audit")
    audit = served.client.get("/audit")
    assert audit.status_code == 200 and "login" in audit.text
    check_html(audit.text)


def test_the_api_page_lists_the_generated_description(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    html = served.client.get("/api/docs").text
    assert "/api/files/{file_id}/reveal" in html and "X-CSRF-Token" in html
    check_html(html)


def test_the_header_counts_exposure_and_shows_the_outcome(serve, case_dir: Path) -> None:
    admin = serve(case_dir)
    admin.login("ada")
    admin.post("/api/outcomes", {"text": "Victim safeguarded"})
    served = serve(case_dir)
    served.login("rui")
    picture = next(i for i in served.client.get("/api/files").json()["items"] if i["has_thumbnail"])
    assert served.post(f"/api/files/{picture['id']}/reveal").status_code == 200
    html = served.client.get("/keys").text
    assert "1 reveal today" in html and "Case outcome: Victim safeguarded" in html


def test_a_due_break_sends_pages_to_the_break_screen(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    for _ in range(11):
        served.client.get("/api/me/exposure")
        served.client.get("/grid")
        served.clock.advance(minutes=5)
    answer = served.client.get("/grid", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/break"
    assert "Time for a break" in served.client.get("/break").text

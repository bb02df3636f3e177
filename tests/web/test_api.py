"""The review API's rules (issue 9), each with a test, on a real ingested benign case."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select, text

from tests.web.conftest import PASSWORD
from vigil.store import CaseStore
from vigil.store.audit import verify
from vigil.store.exposure import set_budget
from vigil.store.schema import audit, files
from vigil.store.users import add_user, disable_user


def items(served, **params) -> list[dict]:
    answer = served.client.get("/api/files", params={"limit": 500, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def by_name(served) -> dict[str, dict]:
    return {Path(i["path"]).name: i for i in items(served)}


def test_every_api_and_media_route_needs_a_session(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    checked = 0
    for path, operations in served.client.app.openapi()["paths"].items():
        if path == "/api/login":
            continue
        url = path.replace("{file_id}", "1").replace("{reveal_id}", "1")
        url = url.replace("{token}", "x" * 43)
        for method in operations:
            answer = served.client.request(method.upper(), url, json={})
            assert answer.status_code == 401, (method, url, answer.status_code)
            checked += 1
    assert checked >= 15
    assert served.client.get("/api/openapi.json").status_code == 401


def test_login_cookie_is_httponly_and_strict_and_secure_under_tls(serve, case_dir: Path) -> None:
    plain = serve(case_dir)
    answer = plain.client.post("/api/login", json={"username": "rui", "password": PASSWORD})
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    assert answer.json()["cases"] == [{"key": "case", "role": "reviewer"}]
    tls = serve(case_dir, tls=True)
    answer = tls.client.post("/api/login", json={"username": "rui", "password": PASSWORD})
    assert "secure" in answer.headers["set-cookie"].lower()
    assert "max-age" in answer.headers["strict-transport-security"]


def test_state_changes_need_the_csrf_token(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    sha = by_name(served)["other-21.png"]["sha256"]
    body = {"sha256": sha, "category": 0}
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        answer = served.client.post("/api/decisions", json=body, headers=headers)
        assert answer.status_code == 403 and "X-CSRF-Token" in answer.json()["detail"]
    assert by_name(served)["other-21.png"]["state"] == "review"
    assert served.post("/api/decisions", body).status_code == 200
    assert by_name(served)["other-21.png"]["state"] == "decided"


def test_failed_logins_are_slowed_then_the_account_locks(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    wrong = {"username": "rui", "password": "not the password"}
    for _ in range(5):
        assert served.client.post("/api/login", json=wrong).status_code == 401
    assert served.sleeps == [0.25, 0.5, 1.0, 2.0]  # doubling from the second attempt
    right = {"username": "rui", "password": PASSWORD}
    assert served.client.post("/api/login", json=right).status_code == 401  # locked
    served.clock.advance(minutes=2)
    with CaseStore.open(case_dir) as store, store.engine.connect() as conn:
        reasons = [
            json.loads(d or "{}").get("reason")
            for d in conn.execute(
                select(audit.c.detail).where(audit.c.action == "login_failed")
            ).scalars()
        ]
    assert reasons.count("wrong password") == 5 and "locked" in reasons


def test_a_user_sees_only_the_cases_granted(serve, case_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other" / "case2"
    shutil.copytree(case_dir, other)
    with CaseStore.open(other) as store:
        add_user(store, "solo", PASSWORD, "reviewer", actor="test")
    served = serve(case_dir, other)
    me = served.login("solo")
    assert me["cases"] == [{"key": "case2", "role": "reviewer"}]
    assert served.client.get("/api/files", params={"case": "case"}).status_code == 404
    assert served.client.get("/api/files", params={"case": "case2"}).status_code == 200
    both = serve(case_dir, other)
    assert {c["key"] for c in both.login("rui")["cases"]} == {"case", "case2"}
    assert both.client.get("/api/files").status_code == 400  # which case?


def test_disabling_a_user_ends_their_access_at_once(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    assert served.client.get("/api/files").status_code == 200
    with CaseStore.open(case_dir) as store:
        disable_user(store, "rui", actor="test")
    assert served.client.get("/api/files").status_code == 403


def test_thumbnails_are_degraded_and_media_is_never_cached(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    file_id = by_name(served)["scene.jpg"]["id"]
    answer = served.client.get(f"/api/files/{file_id}/thumbnail")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    picture = Image.open(io.BytesIO(answer.content))
    assert picture.mode == "L" and max(picture.size) <= 256  # no colour reaches the browser
    drawn = served.client.get(f"/api/files/{file_id}/thumbnail", params={"mode": "line-drawing"})
    assert drawn.headers["content-type"] == "image/png"
    assert served.client.get(f"/api/files/{file_id}/thumbnail?mode=raw").status_code == 400


def test_a_reveal_url_works_once_for_its_user_and_expires(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    file_id = by_name(served)["scene.jpg"]["id"]
    made = served.post(f"/api/files/{file_id}/reveal").json()
    first = served.client.get(made["url"])
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    shown = Image.open(io.BytesIO(first.content))
    assert shown.mode == "RGB" and shown.size == (800, 600)  # read again from the evidence
    assert served.client.get(made["url"]).status_code == 410
    late = served.post(f"/api/files/{file_id}/reveal").json()
    served.clock.advance(seconds=31)
    assert served.client.get(late["url"]).status_code == 410
    theirs = served.post(f"/api/files/{file_id}/reveal").json()
    other = serve(case_dir)
    other.login("ivo")
    assert other.client.get(theirs["url"]).status_code == 410
    ended = served.post(f"/api/reveals/{made['reveal']}/end", {"seconds": 4.5})
    assert ended.status_code == 200
    assert served.post(f"/api/reveals/{made['reveal']}/end", {"seconds": 9}).status_code == 404
    exposure = served.client.get("/api/me/exposure").json()
    assert exposure["reveals"] == 3 and exposure["reveal_seconds"] == 4.5
    with CaseStore.open(case_dir) as store, store.engine.connect() as conn:
        logged = conn.execute(select(audit.c.actor).where(audit.c.action == "reveal")).all()
    assert len(logged) == 3


def test_only_a_picture_can_be_revealed(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    archive = by_name(served)["chat.zip"]
    answer = served.post(f"/api/files/{archive['id']}/reveal")
    assert answer.status_code == 404 and "no picture" in answer.json()["detail"]
    assert served.client.get("/api/me/exposure").json()["reveals"] == 0


def test_an_archive_member_is_revealed_from_its_thumbnail(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    member = by_name(served)["known-copy.jpg"]
    made = served.post(f"/api/files/{member['id']}/reveal").json()
    shown = Image.open(io.BytesIO(served.client.get(made["url"]).content))
    assert shown.mode == "RGB" and max(shown.size) == 256


def test_the_severe_share_counts_the_category_at_the_reveal(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    names = by_name(served)
    served.post(f"/api/files/{names['known.jpg']['id']}/reveal")  # category 1: most severe
    served.post(f"/api/files/{names['other-21.png']['id']}/reveal")
    assert served.client.get("/api/me/exposure").json()["severe_share"] == 0.5


def test_the_budget_warns_but_does_not_block(serve, case_dir: Path) -> None:
    with CaseStore.open(case_dir) as store:
        set_budget(store, "rui", 2, actor="test")
    served = serve(case_dir)
    served.login("rui")
    file_id = by_name(served)["other-22.png"]["id"]
    answers = [served.post(f"/api/files/{file_id}/reveal").json() for _ in range(3)]
    assert [a["over_budget"] for a in answers] == [False, True, True]
    assert served.client.get("/api/me/exposure").json()["budget"] == 2


def test_a_break_is_enforced_after_a_stretch_of_reviewing(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    for _ in range(10):  # 50 minutes of requests 5 minutes apart
        assert served.client.get("/api/files").status_code == 200
        served.clock.advance(minutes=5)
    refused = served.client.get("/api/files")
    assert refused.status_code == 423 and refused.json()["break_until"]
    state = served.client.get("/api/me/exposure").json()["break"]
    assert state["due"] and state["stretch_minutes"] == 50
    served.clock.advance(minutes=5)
    assert served.client.get("/api/files").status_code == 423  # still resting
    served.clock.advance(minutes=5)
    assert served.client.get("/api/files").status_code == 200  # 10 minutes off: a new stretch
    assert served.client.get("/api/me/exposure").json()["review_seconds"] == 50 * 60


def test_a_pause_of_break_length_starts_a_new_stretch(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    for _ in range(8):
        assert served.client.get("/api/files").status_code == 200
        served.clock.advance(minutes=5)
    served.clock.advance(minutes=10)
    for _ in range(5):
        assert served.client.get("/api/files").status_code == 200
        served.clock.advance(minutes=5)


def test_one_decision_covers_a_group_and_undo_takes_it_back(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    scene = by_name(served)["scene.jpg"]
    group = scene["group"]
    assert group.startswith("c")
    members = items(served, group=group)
    assert {Path(m["path"]).name for m in members} >= {"scene.jpg", "scene-small.jpg"}
    answer = served.post("/api/decisions", {"group": group, "category": 2, "note": "series"})
    assert answer.status_code == 200 and answer.json()["contents"] == len(members)
    assert {m["state"] for m in items(served, group=group)} == {"decided"}
    assert served.post("/api/decisions/undo", {"group": group}).status_code == 200
    assert {m["state"] for m in items(served, group=group)} == {"review"}
    detail = served.client.get(f"/api/files/{scene['id']}").json()
    assert [d["category"] for d in detail["decisions"]] == [2, None]


def test_consensus_needs_enough_agreeing_reviewers(serve, case_dir: Path) -> None:
    (case_dir / "vigil.toml").write_text("consensus_reviewers = 2\n")
    first, second = serve(case_dir), serve(case_dir)
    first.login("rui")
    second.login("ivo")
    sha = by_name(first)["other-23.png"]["sha256"]
    first.post("/api/decisions", {"sha256": sha, "category": 2})
    assert by_name(first)["other-23.png"]["state"] == "review"
    second.post("/api/decisions", {"sha256": sha, "category": 0})
    (disputed,) = first.client.get("/api/disagreements").json()["items"]
    assert disputed["sha256"] == sha
    second.post("/api/decisions", {"sha256": sha, "category": 2})
    assert by_name(first)["other-23.png"]["state"] == "decided"
    assert first.client.get("/api/disagreements").json()["items"] == []


def test_keyset_paging_visits_every_file_once(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    seen, after = [], None
    while True:
        params = {"limit": 3, **({"after": after} if after else {})}
        page = served.client.get("/api/files", params=params).json()
        seen += [i["id"] for i in page["items"]]
        after = page["next"]
        if after is None:
            break
    with CaseStore.open(case_dir) as store, store.engine.connect() as conn:
        assert seen == list(conn.execute(select(files.c.id).order_by(files.c.id)).scalars())
    review = items(served, state="review")
    assert review and all(i["state"] == "review" for i in review)
    known = items(served, category=1)
    assert {Path(i["path"]).name for i in known} == {"known.jpg", "known-copy.jpg"}


def test_the_detail_has_what_a_decision_needs(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    known = by_name(served)["known.jpg"]
    detail = served.client.get(f"/api/files/{known['id']}").json()
    assert detail["occurrence_count"] == 2 and len(detail["md5"]) == 32
    assert detail["matches"][0]["algorithm"] == "md5"
    assert detail["category_label"] == "Child Abuse Material (CAM)"


def test_roles_decide_what_each_user_may_do(serve, case_dir: Path) -> None:
    auditor = serve(case_dir)
    auditor.login("aud")
    assert auditor.client.get("/api/files").status_code == 403
    assert auditor.client.get("/api/audit").status_code == 200
    reviewer = serve(case_dir)
    reviewer.login("rui")
    assert reviewer.client.get("/api/audit").status_code == 403
    assert reviewer.post("/api/outcomes", {"text": "safeguarded"}).status_code == 403
    admin = serve(case_dir)
    admin.login("ada")
    assert admin.post("/api/outcomes", {"text": "Victim safeguarded"}).status_code == 200
    posted = reviewer.client.get("/api/outcomes").json()["items"]
    assert posted[0]["text"] == "Victim safeguarded"


def test_bad_input_gets_a_clear_4xx_never_a_500(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    sha = by_name(served)["other-21.png"]["sha256"]
    cases = [
        ("GET", "/api/files/999999", None, 404),
        ("GET", "/api/files/abc", None, 422),
        ("GET", "/api/files?limit=0", None, 422),
        ("GET", "/api/files?limit=100000", None, 422),
        ("GET", "/api/files?state=lost", None, 422),
        ("GET", "/api/files?after=-1", None, 422),
        ("GET", "/api/files?group=zz", None, 400),
        ("GET", "/api/files/999999/thumbnail", None, 404),
        ("POST", "/api/files/999999/reveal", {}, 404),
        ("POST", "/api/decisions", {"sha256": sha, "category": "x"}, 422),
        ("POST", "/api/decisions", {"sha256": sha, "category": 77}, 400),
        ("POST", "/api/decisions", {"category": 1}, 422),
        ("POST", "/api/decisions", {"sha256": "0" * 64, "category": 1}, 400),
        ("POST", "/api/decisions", [1, 2], 422),
        ("POST", "/api/decisions/undo", {"sha256": sha}, 400),
        ("POST", "/api/reveals/5/end", {"seconds": "long"}, 422),
        ("GET", "/media/reveal/" + "a" * 43, None, 410),
        ("GET", "/api/nothing-here", None, 404),
    ]
    for method, url, body, status in cases:
        answer = served.client.request(
            method, url, json=body, headers={"X-CSRF-Token": served.csrf}
        )
        assert answer.status_code == status, (method, url, answer.text)
        assert "Traceback" not in answer.text and answer.json()["detail"]
    huge = {"sha256": sha, "category": 1, "note": "x" * 100_000}
    answer = served.post("/api/decisions", huge)
    assert answer.status_code == 413


def test_logout_ends_the_session(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    assert served.post("/api/logout").status_code == 200
    assert served.client.get("/api/files").status_code == 401


def test_an_idle_session_ends(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    served.clock.advance(minutes=31)
    assert served.client.get("/api/files").status_code == 401


def test_the_audit_chain_holds_every_look_and_names_a_tampered_entry(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    file_id = by_name(served)["scene.jpg"]["id"]
    served.post(f"/api/files/{file_id}/reveal")
    with CaseStore.open(case_dir) as store:
        assert verify(store).ok
        with store.engine.begin() as conn:
            target = conn.execute(select(audit.c.id).where(audit.c.action == "reveal")).scalar_one()
            conn.execute(text("UPDATE audit SET detail = '{}' WHERE id = :i"), {"i": target})
        result = verify(store)
    assert not result.ok and result.broken_id == target


def test_openapi_is_generated_behind_the_session(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("aud")
    spec = served.client.get("/api/openapi.json").json()
    assert "/api/files" in spec["paths"] and "/api/files/{file_id}/reveal" in spec["paths"]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.org"])
def test_serve_refuses_a_remote_host_without_tls(host: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vigil.cli.app import app as cli

    result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--host", host])
    assert result.exit_code != 0 and "not a loopback address" in result.output
    result = CliRunner().invoke(cli, ["serve", str(tmp_path), "--host", host, "--allow-remote"])
    assert result.exit_code != 0 and "needs --tls-cert" in result.output


def test_the_report_counts_reveals_per_decided_content(serve, case_dir: Path) -> None:
    from vigil.reports.case_data import gather

    served = serve(case_dir)
    served.login("rui")
    names = by_name(served)
    for name in ("other-21.png", "other-22.png"):
        served.post(f"/api/files/{names[name]['id']}/reveal")
    served.post("/api/decisions", {"sha256": names["other-21.png"]["sha256"], "category": 0})
    with CaseStore.open(case_dir) as store:
        exposure = gather(store)["exposure"]
    assert exposure == [{"user": "rui", "reveals": 2, "decided": 1, "reveals_per_decided": 2.0}]


def test_undo_restores_the_category_before_and_undoing_it_redoes(serve, case_dir: Path) -> None:
    served = serve(case_dir)
    served.login("rui")
    sha = by_name(served)["other-22.png"]["sha256"]
    for category in (2, 3):
        served.post("/api/decisions", {"sha256": sha, "category": category})
    served.post("/api/decisions/undo", {"sha256": sha})
    assert by_name(served)["other-22.png"]["category"] == 2
    served.post("/api/decisions/undo", {"sha256": sha})
    assert by_name(served)["other-22.png"]["category"] == 3


def test_a_decision_strikes_its_groups_from_the_kept_queue() -> None:
    from datetime import UTC, datetime

    from vigil.web.queue_cache import Queues

    queues = Queues()
    built = [{"group": "c1", "sha256s": ["a"]}, {"group": "c2", "sha256s": ["b", "c"]}]
    queues._built["k"] = (datetime.now(UTC), built)
    queues.decided("k", group=None, sha256="c")
    assert [i["group"] for i in queues._built["k"][1]] == ["c1"]
    queues.decided("k", group="c1", sha256=None)
    assert queues._built["k"][1] == []

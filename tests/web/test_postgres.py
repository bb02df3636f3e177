"""The review app on a PostgreSQL case: the SQL it runs (RETURNING updates, upserts of the
review time, boolean sums) must hold on the lab server's database too."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import gradient_image, image_bytes
from tests.web.conftest import PASSWORD, vigil
from vigil.store import CaseStore
from vigil.store.audit import verify
from vigil.store.users import add_user

pytestmark = pytest.mark.postgres


def test_review_flow_on_postgresql(serve, pg_url: str, tmp_path: Path) -> None:
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    for seed in (1, 2):
        (evidence / f"p{seed}.png").write_bytes(image_bytes(gradient_image(seed), "PNG"))
    case = tmp_path / "pgcase"
    vigil("case", "create", case, "--db", pg_url)
    vigil("ingest", case, evidence, "--workers", "1")
    with CaseStore.open(case) as store:
        add_user(store, "rui", PASSWORD, "reviewer", actor="test")
    served = serve(case)
    served.login("rui")
    listed = served.client.get("/api/files").json()["items"]
    assert len(listed) == 2 and {i["state"] for i in listed} == {"review"}
    first = listed[0]
    made = served.post(f"/api/files/{first['id']}/reveal").json()
    shown = served.client.get(made["url"])
    assert Image.open(io.BytesIO(shown.content)).mode == "RGB"
    assert served.client.get(made["url"]).status_code == 410
    served.post(f"/api/reveals/{made['reveal']}/end", {"seconds": 2})
    served.clock.advance(minutes=3)
    decided = served.post("/api/decisions", {"sha256": first["sha256"], "category": 0})
    assert decided.status_code == 200
    exposure = served.client.get("/api/me/exposure").json()
    assert exposure["reveals"] == 1 and exposure["review_seconds"] == 180
    assert served.post("/api/decisions/undo", {"sha256": first["sha256"]}).status_code == 200
    with CaseStore.open(case) as store:
        assert verify(store).ok

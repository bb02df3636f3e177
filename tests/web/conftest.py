"""A small benign case for the review app: generated pictures ingested for real, one known
to an alert list (category 1), a near-duplicate cluster of one picture (resized, recoloured,
re-encoded), an archive copy and unknown pictures; users of every role. Built once per
session and copied for each test, so each test may change its copy."""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import ImageEnhance
from typer.testing import CliRunner

from tests.helpers import gradient_image, image_bytes
from vigil.cli.app import app as cli
from vigil.store import CaseStore
from vigil.store.users import add_user
from vigil.web import create_app

PASSWORD = "correct horse battery"
ROLES = {"ada": "admin", "rui": "reviewer", "ivo": "investigator", "aud": "auditor"}


def vigil(*args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def build_case(root: Path) -> Path:
    evidence = root / "evidence"
    (evidence / "phone").mkdir(parents=True)
    known = image_bytes(gradient_image(1, (640, 480)), "JPEG", quality=90)
    (evidence / "phone" / "known.jpg").write_bytes(known)
    base = gradient_image(7, (800, 600))
    (evidence / "phone" / "scene.jpg").write_bytes(image_bytes(base, "JPEG", quality=92))
    (evidence / "phone" / "scene-small.jpg").write_bytes(
        image_bytes(base.resize((400, 300)), "JPEG", quality=80)
    )
    (evidence / "phone" / "scene-bright.png").write_bytes(
        image_bytes(ImageEnhance.Brightness(base).enhance(1.15), "PNG")
    )
    for seed in (21, 22, 23):
        (evidence / f"other-{seed}.png").write_bytes(
            image_bytes(gradient_image(seed, (500, 400)), "PNG")
        )
    member = io.BytesIO()
    with zipfile.ZipFile(member, "w") as zf:
        zf.writestr("sent/known-copy.jpg", known)
    (evidence / "chat.zip").write_bytes(member.getvalue())
    lists = root / "lists"
    lists.mkdir()
    (lists / "known.md5").write_text(f"{hashlib.md5(known).hexdigest()}  known.jpg\n")
    case = root / "case"
    vigil("case", "create", case)
    vigil("hashset", "import", case, lists / "known.md5", "--kind", "alert", "--category", "1")
    vigil("ingest", case, evidence, "--workers", "1")
    with CaseStore.open(case) as store:
        for name, role in ROLES.items():
            add_user(store, name, PASSWORD, role, actor="test")
    return case


@pytest.fixture(scope="session")
def built_case(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_case(tmp_path_factory.mktemp("review"))


@pytest.fixture
def case_dir(built_case: Path, tmp_path: Path) -> Path:
    """This test's own copy of the case (the evidence stays where it was ingested from)."""
    copy = tmp_path / "case"
    shutil.copytree(built_case, copy)
    return copy


class Clock:
    """The app's sense of time, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Served:
    client: TestClient
    clock: Clock
    sleeps: list[float]
    csrf: str = ""

    def login(self, name: str, password: str = PASSWORD) -> dict:
        answer = self.client.post("/api/login", json={"username": name, "password": password})
        assert answer.status_code == 200, answer.text
        self.csrf = answer.json()["csrf_token"]
        return answer.json()

    def post(self, url: str, body: dict | None = None, **kw):
        return self.client.post(url, json=body or {}, headers={"X-CSRF-Token": self.csrf}, **kw)


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """serve(case_dir, ...) → a `Served` app on those cases with a fake clock and sleep."""
    opened: list[TestClient] = []

    def make(*case_dirs: Path, tls: bool = False) -> Served:
        clock, sleeps = Clock(), []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        app = create_app(list(case_dirs), tls=tls, clock=clock, sleep=sleep)
        base = "https://127.0.0.1" if tls else "http://127.0.0.1"
        client = TestClient(app, base_url=base)
        client.__enter__()
        opened.append(client)
        return Served(client, clock, sleeps)

    yield make
    for client in opened:
        client.__exit__(None, None, None)

"""The hashing conventions stored with every file come from what is installed and the
settings in force, so hashes made differently are told apart."""

from __future__ import annotations

from importlib.metadata import version

from tests.helpers import gradient_image, image_bytes
from vigil.config import Limits
from vigil.hashing import conventions
from vigil.hashing.windows import WINDOW_VERSION
from vigil.model import Entry, Locator, Task
from vigil.pipeline.worker import process_task


def test_pdq_version_names_the_installed_build_and_the_decode_size():
    default = conventions.pdq_version(Limits())
    assert default.startswith(f"pdqhash-{version('pdqhash')}/")
    assert "pow2-512" in default and default.endswith("/dihedral-exact")
    assert conventions.pdq_version(Limits(pdq_decode_size=1024)) != default
    assert "rgb-full" in conventions.pdq_version(Limits(pdq_decode_size=0))
    assert conventions.windows_version(Limits()) == WINDOW_VERSION
    assert conventions.windows_version(Limits(pdq_windows=0)) is None


def test_each_image_record_carries_the_conventions_that_made_it(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(image_bytes(gradient_image(3), "JPEG", quality=90))
    text = tmp_path / "notes.txt"
    text.write_bytes(b"benign text\n")

    def hashed(name: str, limits: Limits):
        size = (tmp_path / name).stat().st_size
        task = Task(0, str(tmp_path), Locator(name.encode()), Entry.FILE, size)
        (rec,) = process_task(task, limits)
        return rec

    for limits in (Limits(), Limits(pdq_decode_size=0, pdq_windows=0)):
        rec = hashed("photo.jpg", limits)
        assert rec.pdq is not None
        assert rec.pdq_version == conventions.pdq_version(limits)
        assert rec.windows_version == conventions.windows_version(limits)
    plain = hashed("notes.txt", Limits())
    assert plain.pdq is None and plain.pdq_version is None and plain.windows_version is None

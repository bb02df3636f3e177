"""The `make demo` flow end to end, on a small generated collection: lists from known
pictures, a case, import, ingest (matching as it goes), export."""

import json

from tests.cli.test_cli import vigil
from vigil.synthetic.collection import build_collection
from vigil.synthetic.lists import build_demo_lists


def test_known_pictures_and_their_edited_copies_are_categorised(tmp_path):
    collection = tmp_path / "collection"
    build_collection(collection, camera=1, small=6)
    lists = build_demo_lists(collection, tmp_path / "lists")
    case = tmp_path / "case"
    vigil("case", "create", case)
    vigil("hashset", "import", case, lists["vics"], "--kind", "alert", "--name", "partner")
    vigil("hashset", "import", case, lists["md5"], "--format", "md5sum", "--kind", "ignorable")
    vigil("ingest", case, collection, "--workers", "1")
    records = {r["path"]: r for r in map(json.loads, vigil("files", case).stdout.splitlines())}

    expected = {
        "original": ("md5", "original"),
        "mirrored": ("pdq", "mirror"),
        "rotated": ("pdq", "rot"),
        "resized": ("pdq", "original"),
        "sent": ("pdq", "original"),
        "cropped": ("pdq", "crop"),
    }
    for stem, (algorithm, transform) in expected.items():
        (path,) = [p for p in records if p.startswith(f"Edited/{stem}_01.")]
        rec = records[path]
        assert rec["category"] == 4, (path, rec["matches"])
        best = rec["matches"][0]
        assert best["hashset"] == "partner" and best["algorithm"] == algorithm, (path, best)
        assert best["transform"].startswith(transform), (path, best)
    assert records["Documents/notes.txt"]["category"] == 0  # ignorable: non-pertinent
    assert records["DCIM/100TEST/IMG_0001.JPG"]["category"] is None

    out = tmp_path / "export.json"
    vigil("export", case, "--format", "vics", "-o", out)
    exported = out.read_text()
    assert str(collection) not in exported and "Edited/" not in exported
    info = json.loads(vigil("case", "info", case, "--json").stdout)
    assert info["by_category"]["4"] >= 5 and info["matched_files"] >= 6

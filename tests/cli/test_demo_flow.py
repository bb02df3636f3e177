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
    originals = list((collection / "Edited").glob("original_*"))
    assert len(lists["pdq"].read_text().splitlines()) == len(originals) >= 1
    case = tmp_path / "case"
    vigil("case", "create", case)
    vigil("hashset", "import", case, lists["pdq"], "--format", "pdq", "--kind", "alert",
          "--category", "4", "--name", "partner")  # fmt: skip
    vigil("hashset", "import", case, lists["md5"], "--format", "md5sum", "--kind", "ignorable")
    vigil("ingest", case, collection, "--workers", "1")
    records = {r["path"]: r for r in map(json.loads, vigil("files", case).stdout.splitlines())}

    for stem in ("original", "mirrored", "rotated", "resized", "sent"):
        (path,) = [p for p in records if p.startswith(f"Edited/{stem}_01.")]
        rec = records[path]
        assert rec["category"] == 4, (path, rec["matches"])
        assert rec["matches"][0]["hashset"] == "partner"
        assert rec["matches"][0]["algorithm"] == "pdq"
    mirrored = records["Edited/mirrored_01.jpg"]["matches"][0]
    assert mirrored["transform"] == "mirror"
    assert records["Documents/notes.txt"]["category"] == 0  # ignorable: non-pertinent
    assert records["DCIM/100TEST/IMG_0001.JPG"]["category"] is None

    out = tmp_path / "export.json"
    vigil("export", case, "--format", "vics", "-o", out)
    exported = out.read_text()
    assert str(collection) not in exported and "Edited/" not in exported
    info = json.loads(vigil("case", "info", case, "--json").stdout)
    assert info["by_category"]["4"] >= 5 and info["matched_files"] >= 6

"""Benign "known" hash lists for the demo, made from pictures of a generated collection: a
partner's PDQ list of the four `Edited/original_*` pictures (their mirrored, rotated, resized,
re-sent and captioned copies should match) and an NSRL-like MD5 list of the documents."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from vigil.config import Limits
from vigil.hashing.pdq import pdq_hash
from vigil.media.image import decode_for_hashing


def build_demo_lists(collection: Path, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    pdq_list = out / "partner-pdq.txt"
    lines = []
    for picture in sorted((collection / "Edited").glob("original_*")):
        result = pdq_hash(decode_for_hashing(picture.read_bytes(), limits=Limits()).image)
        lines.append(f"{result.hash},{result.quality}\n")
    pdq_list.write_text("".join(lines))
    md5_list = out / "nsrl-like.md5"
    documents = sorted(p for p in (collection / "Documents").rglob("*") if p.is_file())
    md5_list.write_text(
        "".join(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.name}\n" for p in documents)
    )
    return {"pdq": pdq_list, "md5": md5_list}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collection", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    for kind, path in build_demo_lists(args.collection, args.out).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()

"""Benign "known" hash lists for the demo, made from pictures of a generated collection.

- `partner.vics.json`: what a partner running Vigil would send about the four
  `Edited/original_*` pictures (VICS 2.0: MD5, SHA-1, SHA-256, PDQ and its window hashes), so
  their mirrored, rotated, resized, re-sent, cropped and captioned copies can match;
- `nsrl-like.md5`: an md5sum list of the collection's documents, standing in for NSRL.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from vigil.config import Limits
from vigil.hashing.crypto import digest_bytes
from vigil.hashing.pdq import pdq_hash
from vigil.hashing.windows import format_windows, window_hashes
from vigil.hashsets import HashEntry, write_vics
from vigil.media.image import decode_for_hashing

DEMO_CATEGORY = 4  # Project VIC "Comparison Images": the demo never pretends to hold more


def build_demo_lists(collection: Path, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for picture in sorted((collection / "Edited").glob("original_*")):
        data = picture.read_bytes()
        image = decode_for_hashing(data, limits=Limits()).image
        pdq, digests = pdq_hash(image), digest_bytes(data)
        entries.append(
            HashEntry(
                md5=digests.md5,
                sha1=digests.sha1,
                sha256=digests.sha256,
                pdq=pdq.hash,
                pdq_quality=pdq.quality,
                category=DEMO_CATEGORY,
                name=picture.name,
                size=len(data),
                extra=(("pdq_windows", format_windows(window_hashes(image))),),
            )
        )
    vics = out / "partner.vics.json"
    with vics.open("wb") as fh:
        write_vics(entries, fh, version="2.0")
    md5_list = out / "nsrl-like.md5"
    documents = sorted(p for p in (collection / "Documents").rglob("*") if p.is_file())
    md5_list.write_text(
        "".join(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.name}\n" for p in documents)
    )
    return {"vics": vics, "md5": md5_list}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("collection", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    for kind, path in build_demo_lists(args.collection, args.out).items():
        print(f"{kind}: {path}")


if __name__ == "__main__":
    main()

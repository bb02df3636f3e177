"""`python -m vigil.synthetic OUT`: write the benign demo collection and print its manifest."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from vigil.synthetic.collection import build_collection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vigil.synthetic",
        description="Write a benign sample collection, generated entirely in code.",
    )
    parser.add_argument("out", type=Path, help="folder to create (must be absent or empty)")
    parser.add_argument("--camera", type=int, default=40, help="camera-size JPEGs (4000×3000)")
    parser.add_argument("--small", type=int, default=260, help="smaller images, mixed formats")
    parser.add_argument("--seed", type=int, default=1, help="same seed, same bytes")
    args = parser.parse_args(argv)
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        parser.error(f"{args.out} exists and is not an empty folder; refusing to write into it")
    if args.camera < 0 or args.small < 0:
        parser.error("--camera and --small must not be negative")
    start = time.perf_counter()
    manifest = build_collection(args.out, camera=args.camera, small=args.small, seed=args.seed)
    print(json.dumps(manifest, indent=2))
    print(f"wrote {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

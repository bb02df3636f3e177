"""Start-up cost of the real `vigil` console script, each a median of several runs in fresh
processes: `vigil --help`, `vigil --version`, and `vigil ingest` on an empty folder (the fixed
cost of a run: imports, opening the case, the run row, the summary) against their targets, and
for reference a bare interpreter and an ingest of one small file (worker processes started).

Each command runs once untimed first, with bytecode caching on (into a temporary
PYTHONPYCACHEPREFIX, even where PYTHONDONTWRITEBYTECODE is set), as an installed Vigil runs:
compiling Vigil's own sources on every start would be measured otherwise.

    .venv/bin/python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"vigil --help": 0.3, "vigil ingest (empty folder)": 0.5}


def vigil_script() -> str:
    beside = Path(sys.executable).with_name("vigil")
    found = str(beside) if beside.exists() else shutil.which("vigil")
    if found is None:
        sys.exit("no `vigil` console script next to this Python or on PATH: run `make install`")
    return found


def median_seconds(argv: list[str], runs: int, env: dict[str, str], setup=None) -> float:
    times = []
    for run in range(runs + 1):
        if setup is not None:
            setup()
        started = time.perf_counter()
        subprocess.run(
            argv, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if run:  # the first run only warms the bytecode and page caches
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    vigil = vigil_script()
    with tempfile.TemporaryDirectory(prefix="vigil-startup-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        empty, one = root / "empty", root / "one"
        empty.mkdir()
        one.mkdir()
        (one / "note.txt").write_text("benign text\n")
        case = root / "case"
        subprocess.run([vigil, "case", "create", str(case)], check=True, capture_output=True)
        fresh = root / "fresh"

        def fresh_case() -> None:
            shutil.rmtree(fresh, ignore_errors=True)
            subprocess.run([vigil, "case", "create", str(fresh)], check=True, capture_output=True)

        rows = {
            "python -c pass (floor)": median_seconds(
                [sys.executable, "-c", "pass"], args.runs, env
            ),
            "vigil --help": median_seconds([vigil, "--help"], args.runs, env),
            "vigil --version": median_seconds([vigil, "--version"], args.runs, env),
            "vigil ingest (empty folder)": median_seconds(
                [vigil, "-q", "ingest", str(case), str(empty)], args.runs, env
            ),
            "vigil ingest (1 file, 1 worker)": median_seconds(
                [vigil, "-q", "ingest", str(fresh), str(one), "--workers", "1"],
                args.runs,
                env,
                setup=fresh_case,
            ),
        }
    print(f"start-up, median of {args.runs} runs each ({vigil})")
    for name, seconds in rows.items():
        target = TARGETS.get(name)
        verdict = (
            ""
            if target is None
            else f"  target ≤ {target:.2f} s  " + ("ok" if seconds <= target else "OVER")
        )
        print(f"  {name:<32} {seconds:6.3f} s{verdict}")


if __name__ == "__main__":
    main()

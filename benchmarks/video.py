"""vPDQ hashing speed: seconds of video hashed per second of CPU on one core, at 1 frame/s, on
generated benign H.264 videos (`vigil.synthetic.videos`: pans over generated scenes) at
480p, 720p and 1080p, made in memory with PyAV before timing starts.

Each size is hashed from memory three ways, single-threaded: Vigil's default (decode only
what the sampled frames need: GOPs with no wanted frame skipped, non-reference frames not
decoded), Vigil decoding every packet as the reference does (`decode_all`), and the reference
binding `vpdq` on the same bytes (from a temporary file, since it takes a path) where it is
installed. CPU time of this process (`time.process_time`) is the per-core measure; wall time
is printed beside it. The target is 30× real time per core at 720p.

    .venv/bin/python benchmarks/video.py [--seconds 20] [--fps 30] [--sizes 480,720,1080]
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import tempfile
import time

from vigil.hashing.vpdq import VpdqAlgorithm
from vigil.media.video import VideoLimits
from vigil.synthetic import videos as sv

HEIGHTS = {480: 854, 720: 1280, 1080: 1920}  # height → width (16:9)
TARGET_720 = 30.0


def timed(run) -> tuple[float, float, int]:  # type: ignore[no-untyped-def]
    cpu, wall = time.process_time(), time.perf_counter()
    frames = run()
    return time.process_time() - cpu, time.perf_counter() - wall, frames


def vigil_run(data: bytes, decode_all: bool):  # type: ignore[no-untyped-def]
    algorithm = VpdqAlgorithm(seconds_per_hash=1.0, limits=VideoLimits(threads=1))

    def run() -> int:
        result = algorithm.hash_stream(io.BytesIO(data), decode_all=decode_all)
        assert result.reason is None, result.outcome
        return len(result.frames)

    return run


def oracle_run(path: str):  # type: ignore[no-untyped-def]
    import vpdq

    return lambda: len(vpdq.computeHash(path, seconds_per_hash=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each video")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--sizes", default="480,720,1080", help="heights, comma-separated")
    args = parser.parse_args()
    have_oracle = importlib.util.find_spec("vpdq") is not None
    print(
        f"{args.seconds:g} s at {args.fps} fps per video, H.264 (x264 {sv.X264_DEFAULT}), 1 frame/s"
    )
    print(
        f"{'size':>6} {'method':<22} {'frames':>6} {'cpu s':>7} {'wall s':>7} "
        f"{'× real time/core':>17}"
    )
    for height in (int(h) for h in args.sizes.split(",")):
        width = HEIGHTS[height]
        data = sv.video(1, width, height, args.seconds, args.fps)
        runs = [("vigil", vigil_run(data, False)), ("vigil decode-all", vigil_run(data, True))]
        path = None
        if have_oracle:
            fd, path = tempfile.mkstemp(suffix=".mp4")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            runs.append(("reference vpdq", oracle_run(path)))
        try:
            for method, run in runs:
                cpu, wall, frames = timed(run)
                speed = args.seconds / cpu
                flag = ""
                if height == 720 and method == "vigil":
                    flag = "  ok" if speed >= TARGET_720 else f"  below target {TARGET_720:g}×"
                print(
                    f"{height:>5}p {method:<22} {frames:>6} {cpu:>7.2f} {wall:>7.2f} "
                    f"{speed:>16.1f}×{flag}"
                )
        finally:
            if path is not None:
                os.unlink(path)
    if not have_oracle:
        print("reference binding `vpdq` not installed: no reference row (pip install vpdq)")


if __name__ == "__main__":
    main()

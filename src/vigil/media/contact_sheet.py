"""A video's review thumbnail: a grid (4×4 by default) of frames spread over its length, each
cell preferring the frame that starts a scene, with its time printed under it; as a JPEG.

`ContactSheet` is fed frames one at a time (so ingest builds it in the hashing pass, from the
frames vPDQ samples anyway) and keeps at most one small picture per cell; `contact_sheet`
opens a video and feeds it on its own.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageDraw

from vigil.media.video import NO_FRAMES, VideoError, VideoLimits, open_video

LABEL_HEIGHT = 14
_SCORE_SIZE = (16, 16)  # the grey thumbnail scene changes are measured on


@dataclass(slots=True)
class _Cell:
    score: float
    timestamp: float
    picture: Image.Image


class ContactSheet:
    """Collects the frames of one cell per time bin: `duration` seconds split into
    `columns × rows` equal bins (unknown duration: bins of 1 s that double in width as the
    video goes on). In each bin the frame most unlike the frame before it wins — a scene's
    first frame — ties going to the earlier one."""

    def __init__(
        self, duration: float | None, *, columns: int = 4, rows: int = 4, cell_width: int = 240
    ) -> None:
        if columns < 1 or rows < 1 or cell_width < 16:
            raise ValueError("a contact sheet needs at least one 16-pixel cell")
        self.columns, self.rows, self.cell_width = columns, rows, cell_width
        self.cells = columns * rows
        self._fixed = bool(duration and duration > 0)
        self._width = (duration / self.cells) if self._fixed and duration else 1.0
        self._bins: dict[int, _Cell] = {}
        self._previous: np.ndarray | None = None
        self._aspect: float | None = None

    def offer(self, timestamp: float, image: np.ndarray) -> None:
        """One sampled frame (RGB24 array) at `timestamp` seconds."""
        grey = _score_thumbnail(image)
        score = 1.0 if self._previous is None else float(np.abs(grey - self._previous).mean())
        self._previous = grey
        if self._aspect is None:
            self._aspect = image.shape[0] / max(1, image.shape[1])
        index = self._bin(timestamp)
        held = self._bins.get(index)
        if held is None or score > held.score:
            self._bins[index] = _Cell(score, timestamp, self._cell_picture(image))

    def _bin(self, timestamp: float) -> int:
        index = int(max(0.0, timestamp) / self._width)
        if self._fixed:
            return min(index, self.cells - 1)
        while index >= self.cells:  # unknown length: halve the resolution, keep the best
            self._width *= 2
            merged: dict[int, _Cell] = {}
            for old, cell in sorted(self._bins.items()):
                held = merged.get(old // 2)
                if held is None or cell.score > held.score:
                    merged[old // 2] = cell
            self._bins = merged
            index = int(max(0.0, timestamp) / self._width)
        return index

    def _cell_picture(self, image: np.ndarray) -> Image.Image:
        picture = Image.fromarray(image, "RGB")
        height = max(1, round(self.cell_width * (self._aspect or 0.75)))
        return picture.resize((self.cell_width, height), Image.Resampling.BOX)

    @property
    def frames(self) -> int:
        return len(self._bins)

    def render(self, *, quality: int = 80) -> bytes:
        """The sheet as JPEG bytes: the chosen frames in time order, row by row; fewer cells
        than the grid holds when the video had fewer sampled frames."""
        chosen = [cell for _, cell in sorted(self._bins.items())]
        if not chosen:
            raise VideoError(NO_FRAMES, "nothing to put on a contact sheet")
        columns = min(self.columns, len(chosen))
        rows = -(-len(chosen) // columns)
        cw, ch = chosen[0].picture.size
        sheet = Image.new("RGB", (columns * cw, rows * (ch + LABEL_HEIGHT)), (16, 16, 16))
        draw = ImageDraw.Draw(sheet)
        for i, cell in enumerate(chosen):
            x, y = (i % columns) * cw, (i // columns) * (ch + LABEL_HEIGHT)
            sheet.paste(cell.picture, (x, y))
            draw.text((x + 3, y + ch + 1), _clock(cell.timestamp), fill=(220, 220, 220))
        out = io.BytesIO()
        sheet.save(out, "JPEG", quality=quality)
        return out.getvalue()


def contact_sheet(
    stream: BinaryIO,
    *,
    columns: int = 4,
    rows: int = 4,
    cell_width: int = 240,
    limits: VideoLimits | None = None,
) -> bytes:
    """Open the video in `stream` and make its contact sheet (JPEG bytes). Frames are sampled
    about four per cell, so each cell has scene starts to choose from; only the GOPs holding
    them are decoded. Raises `VideoError` as `open_video` does, or NO_FRAMES."""
    with open_video(stream, limits=limits) as video:
        probe = video.probe
        builder = ContactSheet(probe.duration, columns=columns, rows=rows, cell_width=cell_width)
        fps = probe.fps or 1.0
        if probe.duration:
            every = max(1, int(probe.duration * fps / (builder.cells * 4)))
        else:
            every = max(1, int(fps))
        for frame in video.frames(every):
            builder.offer(frame.timestamp, frame.image)
        return builder.render()


def _score_thumbnail(image: np.ndarray) -> np.ndarray:
    grey = Image.fromarray(image, "RGB").convert("L").resize(_SCORE_SIZE, Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float32)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"

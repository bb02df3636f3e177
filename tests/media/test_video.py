"""Videos from streams: probe facts, sampled frames (only what they need decoded), hostile
input ending in a reason and never a hang, and the contact sheet. Every video is made here."""

from __future__ import annotations

import io
import time
import zipfile
from functools import cache

import numpy as np
import pytest
from PIL import Image

from vigil.media import video as mv
from vigil.media.contact_sheet import ContactSheet, contact_sheet
from vigil.media.video import VideoError, VideoLimits, open_video
from vigil.synthetic import videos as sv

FPS = 15
W, H = 192, 144


def clip(
    seconds: float = 8,
    container: str = "mp4",
    options: dict[str, str] | None = None,
    container_options: dict[str, str] | None = None,
) -> bytes:
    """An 8 s moving-picture video (made once per set of arguments)."""
    return _clip(
        seconds,
        container,
        tuple(sorted((options or {}).items())),
        tuple(sorted((container_options or {}).items())),
    )


@cache
def _clip(seconds: float, container: str, options: tuple, container_options: tuple) -> bytes:
    return sv.encode(
        sv.moving_frames(3, W, H, seconds, FPS),
        fps=FPS,
        container=container,
        options=dict(options) or None,
        container_options=dict(container_options) or None,
    )


def sampled(data: bytes, every: int, **kw):
    with open_video(io.BytesIO(data), limits=VideoLimits(**kw)) as video:
        frames = list(video.frames(every))
        return video.probe, frames, video.outcome


def test_probe_reads_container_codec_size_rate_time_and_device_tags():
    data = sv.encode(
        sv.moving_frames(1, W, H, 2, FPS),
        fps=FPS,
        metadata={
            "creation_time": "2024-05-01T10:00:00.000000Z",
            "com.apple.quicktime.make": "BenignCam",
            "com.apple.quicktime.model": "Test 1",
        },
        container_options={"movflags": "use_metadata_tags"},
        audio_seconds=2,
        rotation=90,
    )
    probe, frames, outcome = sampled(data, FPS)
    assert probe.container.startswith("mov,mp4")
    assert (probe.video_codec, probe.width, probe.height, probe.fps) == ("h264", W, H, FPS)
    assert probe.duration == pytest.approx(2.0, abs=0.1)
    assert probe.frame_count == 2 * FPS
    assert probe.audio_codecs == ("aac",)
    assert probe.creation_time == "2024-05-01T10:00:00.000000Z"
    assert dict(probe.tags)["make"] == "BenignCam" and dict(probe.tags)["model"] == "Test 1"
    assert outcome.rotation == 90 and outcome.complete
    assert [f.number for f in frames] == [0, FPS]


def test_frames_are_numbered_in_presentation_order_with_reference_timestamps():
    _probe, frames, outcome = sampled(clip(), 4)
    assert [f.number for f in frames] == list(range(0, 8 * FPS, 4))
    assert frames[1].timestamp == float(np.float32(4) / np.float32(FPS))
    assert frames[0].image.shape == (H, W, 3) and frames[0].image.flags.c_contiguous
    assert outcome.complete and outcome.sampled == len(frames)


def test_sparse_sampling_decodes_less_and_gives_the_same_pixels():
    data = clip(8, options={"preset": "veryfast", "g": "30", "bf": "2"})
    with open_video(io.BytesIO(data)) as video:
        everything = {f.number: f.image for f in video.frames(2 * FPS, decode_all=True)}
        assert video.outcome.decoded == 8 * FPS
    with open_video(io.BytesIO(data)) as video:
        needed = {f.number: f.image for f in video.frames(2 * FPS)}
        assert video.outcome.decoded < 8 * FPS / 2
        assert video.outcome.skipped_packets > 0
    assert needed.keys() == everything.keys() == set(range(0, 8 * FPS, 2 * FPS))
    for number, image in needed.items():
        assert np.array_equal(image, everything[number]), number


def test_frames_scale_to_a_requested_size():
    with open_video(io.BytesIO(clip())) as video:
        frame = next(video.frames(FPS, size=(64, 32)))
    assert frame.image.shape == (32, 64, 3)


def test_a_zip_member_stream_is_read_in_place():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("inner/clip.mp4", clip())
    with (
        zipfile.ZipFile(buf) as zf,
        zf.open("inner/clip.mp4") as member,
        open_video(member) as video,  # type: ignore[arg-type]
    ):
        numbers = [f.number for f in video.frames(FPS)]
    assert numbers == list(range(0, 8 * FPS, FPS))


class _Pipe(io.RawIOBase):
    """A forward-only stream, like a pipe or an archive member that cannot seek."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b):  # type: ignore[no-untyped-def]
        chunk = self._data.read(min(len(b), 4096))
        b[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("container", ["matroska", "mpegts"])
def test_streamable_containers_decode_from_an_unseekable_stream(container):
    data = clip(4, container=container)
    with open_video(_Pipe(data)) as video:  # type: ignore[arg-type]
        numbers = [f.number for f in video.frames(FPS)]
    assert numbers == [0, FPS, 2 * FPS, 3 * FPS]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", mv.EMPTY),
        (bytes(range(256)) * 64, mv.UNREADABLE),
        (b"\x00\x00\x00\x18ftypmp42" + bytes(4000), mv.UNREADABLE),
        # a playlist naming another file: the hls demuxer is not on the allow-list
        (b"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/hostname\n", mv.UNREADABLE),
        (b"ffconcat version 1.0\nfile /etc/hostname\n", mv.UNREADABLE),
    ],
)
def test_what_is_not_a_video_is_refused_with_a_reason(content, reason):
    with pytest.raises(VideoError) as err:
        open_video(io.BytesIO(content))
    assert err.value.reason == reason


def test_audio_only_has_no_video_stream():
    with pytest.raises(VideoError) as err:
        open_video(io.BytesIO(sv.audio_only(1.0)))
    assert err.value.reason == mv.NO_VIDEO


def test_mp4_cut_before_its_index_is_unreadable():
    data = clip()  # PyAV writes the mp4 index (moov) at the end
    with pytest.raises(VideoError) as err:
        open_video(io.BytesIO(data[: len(data) // 2]))
    assert err.value.reason == mv.UNREADABLE


@pytest.mark.parametrize(
    ("container", "options"),
    [("matroska", None), ("mp4", {"movflags": "frag_keyframe+empty_moov"})],
)
def test_a_truncated_stream_keeps_what_decoded(container, options):
    data = clip(8, container=container, container_options=options)
    _probe, frames, outcome = sampled(data[: len(data) // 2], FPS)
    assert 1 <= len(frames) < 8
    assert outcome.reason in (mv.TRUNCATED, mv.CORRUPT), outcome


def test_garbage_after_the_header_decodes_what_it_can():
    data = bytearray(clip(8, container="matroska"))
    rng = np.random.default_rng(5)
    start = len(data) // 3
    data[start:] = rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
    _probe, frames, outcome = sampled(bytes(data), FPS)
    assert 1 <= len(frames) < 8
    assert outcome.reason in (mv.TRUNCATED, mv.CORRUPT), outcome


def test_a_stream_without_packets_has_no_frames():
    out = io.BytesIO()
    import av

    with av.open(out, "w", format="mp4") as box:
        stream = box.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        box.start_encoding()
    try:
        _probe, frames, outcome = sampled(out.getvalue(), 1)
    except VideoError as exc:
        assert exc.reason in (mv.UNREADABLE, mv.NO_VIDEO)
    else:
        assert frames == [] and outcome.reason == mv.NO_FRAMES


def test_absurd_dimensions_are_refused_before_decoding():
    with pytest.raises(VideoError) as err:
        open_video(io.BytesIO(clip()), limits=VideoLimits(max_pixels=W * H - 1))
    assert err.value.reason == mv.TOO_LARGE


def test_the_frame_budget_stops_sampling():
    _probe, frames, outcome = sampled(clip(), 1, max_frames=5)
    assert len(frames) == 5 and outcome.reason == mv.FRAME_BUDGET


def test_an_endless_stream_stops_at_the_time_budget():
    long = clip(30, container="mpegts", options={"preset": "ultrafast", "g": "15"})
    started = time.monotonic()
    _probe, frames, outcome = sampled(long, 1, max_seconds=0.02)
    assert time.monotonic() - started < 5
    assert outcome.reason == mv.TIME_BUDGET
    assert len(frames) < 30 * FPS


def test_limits_refuse_nonsense():
    with pytest.raises(ValueError):
        VideoLimits(max_seconds=0)
    with pytest.raises(ValueError):
        next(open_video(io.BytesIO(clip())).frames(0))


# --- contact sheet -----------------------------------------------------------------------


def test_contact_sheet_is_a_4x4_jpeg_of_frames_spread_over_the_video():
    data = sv.encode(sv.moving_frames(4, W, H, 20, FPS), fps=FPS)
    jpeg = contact_sheet(io.BytesIO(data), cell_width=96)
    sheet = Image.open(io.BytesIO(jpeg))
    assert sheet.format == "JPEG"
    assert sheet.size == (4 * 96, 4 * (72 + 14))


def test_contact_sheet_prefers_scene_starts():
    # scenes change every 4 s; with 20 s in 16 cells of 1.25 s, the cells holding 4, 8, 12
    # and 16 s must show the first frame of the new scene
    frames = list(sv.moving_frames(4, W, H, 20, FPS))
    builder = ContactSheet(20.0, cell_width=48)
    for number in range(0, len(frames), 5):
        builder.offer(number / FPS, frames[number])
    chosen = {cell.timestamp for cell in builder._bins.values()}
    assert {4.0, 8.0, 12.0, 16.0} <= chosen
    assert builder.frames == 16


def test_contact_sheet_of_unknown_length_merges_bins_as_it_grows():
    frames = list(sv.moving_frames(2, 64, 48, 40, 2))
    builder = ContactSheet(None, columns=2, rows=2, cell_width=32)
    for number, frame in enumerate(frames):
        builder.offer(number / 2, frame)
    assert builder.frames >= 3  # 40 s in bins grown to 16 s: [0, 16), [16, 32), [32, 48)
    times = sorted(cell.timestamp for cell in builder._bins.values())
    assert times[-1] >= 30  # the last cell covers the end of the video
    sheet = Image.open(io.BytesIO(builder.render()))
    assert sheet.size == (64, 2 * (24 + 14))


def test_contact_sheet_of_a_short_video_has_fewer_cells():
    data = sv.encode(sv.moving_frames(4, W, H, 0.4, FPS), fps=FPS)
    sheet = Image.open(io.BytesIO(contact_sheet(io.BytesIO(data), cell_width=64)))
    assert sheet.width < 4 * 64 or sheet.height < 4 * (48 + 14)

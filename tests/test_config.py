"""Every setting is checked when loaded: a value outside its range or of the wrong type stops
the command with one line naming the setting, where it came from and what it allows."""

from __future__ import annotations

import dataclasses
import re

import pytest

from vigil.config import Limits, Settings, allowed_range, load_settings, setting_fields
from vigil.errors import ConfigError

# (setting, a value just outside its range, the allowed range in words): written out by hand
# from the README's settings table, not read back from the metadata under test.
OUT_OF_RANGE = [
    ("scheduler", '"local:0"', "process, local:N (N ≥ 1) or tcp://HOST:PORT"),
    ("workers", -1, "at least 0"),
    ("batch_size", 0, "at least 1"),
    ("pdq_threshold", 257, "0 to 256"),
    ("pdq_threshold", -1, "0 to 256"),
    ("pdq_min_quality", 101, "0 to 100"),
    ("weak_pdq_distance", 257, "0 to 256"),
    ("weak_low_quality_distance", -1, "0 to 256"),
    ("video_query_match_percent", 101, "0 (off) or 1 to 100"),
    ("video_compared_match_percent", -1, "0 (off) or 1 to 100"),
    ("burst_seconds", 86_401, "0 to 86400"),
    ("max_image_pixels", 0, "at least 1"),
    ("max_image_bytes", 0, "at least 1"),
    ("pdq_decode_size", 63, "0 (off) or at least 64"),
    ("pdq_windows", 2, "0 to 1"),
    ("thumbnail_size", 0, "16 to 2048"),
    ("thumbnail_size", 15, "16 to 2048"),
    ("thumbnail_size", 2049, "16 to 2048"),
    ("archive_max_depth", 0, "at least 1"),
    ("archive_max_total_bytes", 0, "at least 1"),
    ("archive_max_ratio", 0, "at least 1"),
    ("archive_max_members", 0, "at least 1"),
    ("member_max_bytes", 0, "at least 1"),
    ("verify_image_hash", 2, "0 to 1"),
    ("video_max_seconds", 0, "1 to 86400"),
    ("video_max_seconds", 86_401, "1 to 86400"),
    ("video_max_frames", 0, "1 to 10000000"),
    ("review_stretch_minutes", 0, "1 to 1440"),
    ("break_minutes", 1441, "1 to 1440"),
    ("reveal_seconds", 601, "1 to 600"),
    ("reveal_url_seconds", 0, "1 to 600"),
    ("review_size", 63, "64 to 4096"),
    ("daily_reveal_budget", -1, "0 (off) or at least 1"),
    ("session_idle_minutes", 0, "1 to 1440"),
    ("consensus_reviewers", 10, "1 to 9"),
]
# The edges of each range, which must load.
EDGES = [
    ("workers", 0),
    ("batch_size", 1),
    ("pdq_threshold", 0),
    ("pdq_threshold", 256),
    ("pdq_min_quality", 100),
    ("weak_pdq_distance", 0),
    ("weak_low_quality_distance", 256),
    ("burst_seconds", 0),
    ("pdq_decode_size", 0),
    ("pdq_decode_size", 64),
    ("pdq_windows", 0),
    ("thumbnail_size", 16),
    ("thumbnail_size", 2048),
    ("archive_max_depth", 1),
    ("video_max_seconds", 86_400),
    ("video_max_frames", 1),
]


def value_of(settings: Settings, name: str) -> int:
    return getattr(settings.limits if hasattr(settings.limits, name) else settings, name)


def test_every_setting_has_a_range_in_this_test():
    named = {name for name, _, _ in OUT_OF_RANGE}
    assert named == {f.name for f in setting_fields()}


@pytest.mark.parametrize(("name", "bad", "allowed"), OUT_OF_RANGE)
def test_out_of_range_from_the_environment_is_refused(name, bad, allowed):
    key = f"VIGIL_{name.upper()}"
    with pytest.raises(ConfigError) as caught:
        load_settings(env={key: str(bad)})
    assert str(caught.value) == f"setting {name} must be {allowed} (got {bad}) ({key})"


@pytest.mark.parametrize(("name", "bad", "allowed"), OUT_OF_RANGE)
def test_out_of_range_in_vigil_toml_is_refused(tmp_path, name, bad, allowed):
    (tmp_path / "vigil.toml").write_text(f"[limits]\n{name} = {bad}\n", "utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"setting {name} must be {allowed}")):
        load_settings(tmp_path, env={})


@pytest.mark.parametrize(("name", "bad", "allowed"), OUT_OF_RANGE)
def test_out_of_range_from_a_flag_or_in_code_is_refused(name, bad, allowed):
    with pytest.raises(ConfigError, match=f"--{name.replace('_', '-')}"):
        load_settings(env={}, overrides={name: bad})
    # dataclasses.replace and direct construction are checked too (hash uses replace).
    with pytest.raises(ConfigError, match=re.escape(f"setting {name} must be {allowed}")):
        if name in {f.name for f in dataclasses.fields(Limits)}:
            dataclasses.replace(Limits(), **{name: bad})
        else:
            dataclasses.replace(Settings(), **{name: bad})


@pytest.mark.parametrize(("name", "edge"), EDGES)
def test_range_edges_load(name, edge):
    assert value_of(load_settings(env={f"VIGIL_{name.upper()}": str(edge)}), name) == edge


def test_defaults_are_in_range():
    assert load_settings(env={}) == Settings()
    assert Settings().limits.thumbnail_size == 256 and Settings().batch_size == 500


@pytest.mark.parametrize(
    "line",
    [
        "batch_size = true",
        'batch_size = "500"',
        "batch_size = 1.5",
        "batch_size = [500]",
        "batch_size = 2024-01-01",
    ],
)
def test_a_wrong_type_in_vigil_toml_is_refused(tmp_path, line):
    (tmp_path / "vigil.toml").write_text(line + "\n", "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, env={})
    message = str(caught.value)
    assert message.startswith("setting batch_size (") and message.endswith("is not an integer")
    assert str(tmp_path / "vigil.toml") in message


def test_a_limits_key_that_is_not_a_table_is_refused(tmp_path):
    (tmp_path / "vigil.toml").write_text("limits = 3\n", "utf-8")
    with pytest.raises(ConfigError, match=r"limits must be a table"):
        load_settings(tmp_path, env={})


def test_a_broken_vigil_toml_is_a_config_error(tmp_path):
    (tmp_path / "vigil.toml").write_bytes(b"batch_size = \xff\n")
    with pytest.raises(ConfigError, match=r"vigil\.toml"):
        load_settings(tmp_path, env={})


@pytest.mark.parametrize("text", ["", "ten", "1.5", "0x10"])
def test_a_non_integer_environment_value_is_refused(text):
    with pytest.raises(ConfigError, match=r"setting workers \(VIGIL_WORKERS\): .* not an integer"):
        load_settings(env={"VIGIL_WORKERS": text})


def test_precedence_file_then_environment_then_flag(tmp_path):
    (tmp_path / "vigil.toml").write_text("batch_size = 7\n[limits]\nthumbnail_size = 64\n")
    assert load_settings(tmp_path, env={}).batch_size == 7
    assert load_settings(tmp_path, env={}).limits.thumbnail_size == 64
    env = {"VIGIL_BATCH_SIZE": " 9 "}
    assert load_settings(tmp_path, env=env).batch_size == 9
    assert load_settings(tmp_path, env=env, overrides={"batch_size": 11}).batch_size == 11


def test_unknown_setting_is_refused(tmp_path):
    (tmp_path / "vigil.toml").write_text("batch_sise = 7\n")
    with pytest.raises(ConfigError, match=r"unknown setting.*batch_sise"):
        load_settings(tmp_path, env={})


def test_allowed_range_reads_each_form():
    by_name = {f.name: f for f in setting_fields()}
    assert allowed_range(by_name["pdq_decode_size"]) == "0 (off) or at least 64"
    assert allowed_range(by_name["pdq_threshold"]) == "0 to 256"
    assert allowed_range(by_name["batch_size"]) == "at least 1"

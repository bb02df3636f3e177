"""Fixtures for the hashing tests: Meta's PDQ reference vectors in ../shared/vectors/pdq."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import SHARED

PDQ_VECTORS = SHARED / "vectors" / "pdq"


@dataclass(frozen=True)
class Expected:
    source_id: str
    image: str
    hash: str
    quality: int | None


@pytest.fixture(scope="session")
def pdq_vectors() -> Path:
    if not (PDQ_VECTORS / "expected" / "expected_pdq_hashes.csv").is_file():
        pytest.skip(f"PDQ reference vectors not found at {PDQ_VECTORS} (see shared/vectors)")
    return PDQ_VECTORS


@pytest.fixture(scope="session")
def expected_rows(pdq_vectors: Path) -> list[Expected]:
    """Every row of expected/expected_pdq_hashes.csv (see the vectors' README.txt)."""
    with open(pdq_vectors / "expected" / "expected_pdq_hashes.csv", newline="") as f:
        return [
            Expected(
                row["source_id"],
                row["image"],
                row["expected_hash"],
                int(row["expected_quality"]) if row["expected_quality"] else None,
            )
            for row in csv.DictReader(f)
        ]

"""Shared fixtures."""

from __future__ import annotations

import pytest

from tests.helpers import gradient_image, image_bytes


@pytest.fixture
def jpeg_bytes() -> bytes:
    return image_bytes(gradient_image(1), "JPEG", quality=90)

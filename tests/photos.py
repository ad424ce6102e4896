"""Real photos for tests, drawn with Pillow: uploads are decoded to their last pixel, so a
signature followed by zeros is no longer a photo."""

from __future__ import annotations

import io
import os

from PIL import Image


def png(size: tuple[int, int] = (8, 6), colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    return _drawn("PNG", size, colour)


def jpeg(size: tuple[int, int] = (8, 6), colour: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    return _drawn("JPEG", size, colour)


def noise_png(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress: about 3 bytes a pixel."""
    pixels = os.urandom(size[0] * size[1] * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(out, "PNG")
    return out.getvalue()


def _drawn(kind: str, size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()

"""Photos kept for phones (a product's, on the shop's pages): upright, at most 720 pixels on
the longer side, a JPEG of tens of kilobytes, and nothing of the original's metadata."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from linli.errors import ValidationFailed
from linli.uploads import PHONE_EDGE, phone_photo
from tests.photos import png

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F


def _camera_jpeg(size: tuple[int, int], *, orientation: int = 1) -> bytes:
    """A photo as a phone camera writes it: noise (it does not compress), the camera's
    make, where it was taken, and the orientation it was held in."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    exif = Image.Exif()
    exif[MAKE] = "PhoneCam"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (22.0, 55.0, 0.0), 3: "E", 4: (111.0, 1.0, 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif, comment=b"taken at home")
    return out.getvalue()


def _opened(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


def test_a_camera_photo_is_scaled_for_a_phone_and_loses_every_trace_of_where_it_was_taken():
    original = _camera_jpeg((2400, 1800))
    assert b"PhoneCam" in original and len(original) > 1_000_000

    kept = phone_photo(original)

    image = _opened(kept)
    assert (image.format, image.size) == ("JPEG", (PHONE_EDGE, 540))
    assert len(kept) < 200_000
    assert not image.getexif() and "exif" not in image.info
    assert "comment" not in image.info and "icc_profile" not in image.info
    assert b"PhoneCam" not in kept and b"taken at home" not in kept


def test_a_photo_taken_sideways_is_kept_upright():
    # orientation 6: the camera was turned a quarter; the pixels are stored 400 wide
    kept = _opened(phone_photo(_camera_jpeg((400, 300), orientation=6)))
    assert kept.size == (300, 400)


def test_a_small_photo_keeps_its_size_and_a_transparent_one_gets_a_white_ground():
    clear = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 0, 0)).save(clear, "PNG")

    kept = _opened(phone_photo(clear.getvalue()))

    assert (kept.format, kept.mode, kept.size) == ("JPEG", "RGB", (40, 30))
    assert kept.getpixel((20, 15)) == pytest.approx((255, 255, 255), abs=2)
    assert _opened(phone_photo(png((30, 20)))).size == (30, 20)


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"<html>not a photo</html>", "file_type_invalid"), (b"", "file_type_invalid")],
)
def test_what_is_not_a_photo_is_refused_as_before(content, code):
    with pytest.raises(ValidationFailed) as refused:
        phone_photo(content)
    assert (refused.value.code, refused.value.field) == (code, "photo")

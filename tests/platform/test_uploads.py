"""The photo check decodes the image: signatures, sizes, pixel counts; names are random;
a file no row names is deleted only when the change commits."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image

from linli.errors import ValidationFailed
from linli.storage import stored_file_delete_on_commit
from linli.uploads import (
    MAX_PHOTO_PIXELS,
    MAX_UPLOAD_BODY_BYTES,
    PHOTO_NOT_AN_IMAGE,
    PHOTO_TOO_LARGE,
    PHOTO_TOO_MANY_PIXELS,
    photo_extension,
    photo_name,
)
from tests.photos import jpeg, png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def refusal(content: bytes) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        photo_extension(content)
    return err.value


def drawn(kind: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, kind)
    return out.getvalue()


def test_a_real_png_and_a_real_jpeg_are_accepted():
    assert photo_extension(png()) == "png"
    assert photo_extension(jpeg()) == "jpg"
    assert photo_extension(drawn("JPEG", (1, 1), "L")) == "jpg"  # tiny and grey
    assert photo_extension(drawn("PNG", (30, 20), "RGBA")) == "png"


@pytest.mark.parametrize(
    "content",
    [
        PNG_SIGNATURE + b"<html><script>alert(document.cookie)</script></html>",
        b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>",
        PNG_SIGNATURE + b"\x00" * 64,  # the signature was all the old check looked at
        png((300, 300))[:-40],  # cut short
        jpeg((300, 300))[:200],
        drawn("GIF", (8, 8)),
        drawn("WEBP", (8, 8)),
        drawn("BMP", (8, 8)),
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"",
    ],
    ids=[
        "png+html", "jpeg+html", "png+zeros", "cut png", "cut jpeg",
        "gif", "webp", "bmp", "svg", "empty",
    ],
)  # fmt: skip
def test_anything_that_does_not_decode_as_jpeg_or_png_is_refused(content):
    error = refusal(content)
    assert (error.code, error.field, error.message) == (
        "file_type_invalid",
        "photo",
        str(PHOTO_NOT_AN_IMAGE),
    )


def test_more_than_5_mb_is_refused_before_decoding():
    error = refusal(png() + b"\x00" * (5 * 1024 * 1024))
    assert (error.code, error.message) == ("file_too_large", str(PHOTO_TOO_LARGE))


@pytest.mark.parametrize("size", [(6000, 4001), (40_000, 40_000)], ids=["just over", "bomb"])
def test_a_decompression_bomb_is_refused_by_its_pixel_count(size):
    # given: a PNG of one colour, a few kilobytes, that would decode to gigabytes
    bomb = drawn("PNG", size, "1")
    assert len(bomb) < 300_000 and size[0] * size[1] > MAX_PHOTO_PIXELS
    # when / then
    error = refusal(bomb)
    assert (error.code, error.message) == ("file_too_large", str(PHOTO_TOO_MANY_PIXELS))


def test_the_most_pixels_allowed_pass():
    assert photo_extension(drawn("PNG", (6000, 4000), "1")) == "png"


def test_names_are_random_and_keep_the_checked_extension():
    names = {photo_name("product-7", "jpg") for _ in range(50)}
    assert len(names) == 50
    for name in names:
        prefix, extension = name.rsplit(".", 1)
        assert prefix.startswith("product-7-") and len(prefix) == len("product-7-") + 22
        assert extension == "jpg"


def test_the_body_limit_is_one_photo_and_its_form():
    assert MAX_UPLOAD_BODY_BYTES == 5 * 1024 * 1024 + 64 * 1024
    # request.body (the idempotency fingerprint) may read a photo whole
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == MAX_UPLOAD_BODY_BYTES


@pytest.fixture
def stored(in_tenant, settings, tmp_path) -> tuple[str, Path]:
    settings.MEDIA_ROOT = tmp_path
    name = default_storage.save("shop/products/old.png", ContentFile(png()))
    return name, tmp_path / "alpha" / name


def test_a_file_is_deleted_when_the_change_commits(stored, django_capture_on_commit_callbacks):
    name, path = stored
    with django_capture_on_commit_callbacks(execute=True):
        stored_file_delete_on_commit(name=name)
        assert path.exists()  # not before the commit
    assert not path.exists()


def test_a_file_stays_when_the_change_rolls_back(stored, django_capture_on_commit_callbacks):
    name, path = stored
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        stored_file_delete_on_commit(name=name)
        raise RuntimeError("the change failed")
    assert callbacks == []
    assert path.exists()


def test_nothing_to_delete_for_an_empty_name(stored, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        stored_file_delete_on_commit(name="")
        stored_file_delete_on_commit(name=None)
    assert callbacks == []

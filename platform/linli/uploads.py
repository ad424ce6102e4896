"""Uploaded photos: JPEG or PNG that really decode as one, bounded in bytes and in pixels.

The first bytes are not enough: a PNG signature followed by HTML has them. Every photo is
decoded to its last pixel before it is kept, and kept under a random name (the name is
what lets a browser fetch it, see ``linli.media``).
"""

from __future__ import annotations

import io
import secrets

from django.utils.translation import gettext_lazy
from PIL import Image, ImageOps

from linli.errors import ValidationFailed

MAX_PHOTO_BYTES = 5 * 1024 * 1024
# 6000 x 4000: twice a phone's usual 12 megapixels. A PNG of one colour, a megabyte or
# so, can claim 100,000 x 100,000 pixels (gigabytes decoded): this is checked first.
MAX_PHOTO_PIXELS = 24_000_000
# A request carries one photo and a few short fields; the rest is multipart's framing.
MAX_UPLOAD_BODY_BYTES = MAX_PHOTO_BYTES + 64 * 1024
# Pillow's format name -> the extension a photo is stored (and later served) under.
FORMATS = {"JPEG": "jpg", "PNG": "png"}
CONTENT_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}

PHOTO_TOO_LARGE = gettext_lazy("The photo is larger than 5 MB.")
PHOTO_TOO_MANY_PIXELS = gettext_lazy("The photo is larger than 24 megapixels.")
PHOTO_NOT_AN_IMAGE = gettext_lazy("Send a JPEG or PNG photo.")


def photo_extension(content: bytes, *, field: str = "photo") -> str:
    """``jpg`` or ``png`` for an acceptable photo; a clear error otherwise."""
    if len(content) > MAX_PHOTO_BYTES:
        raise ValidationFailed(str(PHOTO_TOO_LARGE), code="file_too_large", field=field)
    try:
        return _decoded(content)
    except Image.DecompressionBombError as exc:
        raise ValidationFailed(
            str(PHOTO_TOO_MANY_PIXELS), code="file_too_large", field=field
        ) from exc
    except Exception as exc:  # Pillow raises many kinds on hostile input: each is a refusal
        raise ValidationFailed(
            str(PHOTO_NOT_AN_IMAGE), code="file_type_invalid", field=field
        ) from exc


def _decoded(content: bytes) -> str:
    with Image.open(io.BytesIO(content), formats=tuple(FORMATS)) as image:
        if image.width * image.height > MAX_PHOTO_PIXELS:  # before a pixel is decoded
            raise Image.DecompressionBombError(f"{image.width} x {image.height} pixels")
        extension = FORMATS[str(image.format)]
        image.verify()  # the structure: chunk checksums, markers
    with Image.open(io.BytesIO(content), formats=tuple(FORMATS)) as image:
        # A JPEG decodes at an eighth of its size: every byte of it is still read and
        # checked, in a sixty-fourth of the memory.
        image.draft(None, (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()  # the pixels: a signature followed by anything else fails here
    return extension


# A photo shown on a phone (a product on the shop's pages): its longer side at most this
# many pixels (a 390 px screen at twice the density shows 780), a JPEG of some 30-60 KB.
PHONE_EDGE = 720
PHONE_QUALITY = 78


def phone_photo(content: bytes, *, field: str = "photo", edge: int = PHONE_EDGE) -> bytes:
    """The photo checked (as ``photo_extension``), turned upright as the camera held it,
    scaled to fit ``edge`` pixels and kept as a JPEG with no metadata at all: no
    location, no camera, no thumbnail of the original, no comments."""
    photo_extension(content, field=field)
    with Image.open(io.BytesIO(content), formats=tuple(FORMATS)) as opened:
        opened.draft("RGB", (edge * 2, edge * 2))  # a large JPEG decodes scaled down
        image = ImageOps.exif_transpose(opened)
        if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, "white")
            image.paste(rgba, mask=rgba.getchannel("A"))
        image = image.convert("RGB")
        image.thumbnail((edge, edge), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # A new image carries none of the original's info (EXIF, ICC, XMP, comments).
        clean = Image.new("RGB", image.size)
        clean.paste(image)
        clean.save(out, "JPEG", quality=PHONE_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def photo_name(prefix: str, extension: str) -> str:
    """A name nobody can guess (``product-12-<22 random characters>.jpg``): the file's URL
    is enough to fetch it, and a new photo never takes an old one's name."""
    return f"{prefix}-{secrets.token_urlsafe(16)}.{extension}"

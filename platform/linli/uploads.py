"""Uploaded photos: only JPEG or PNG (by their first bytes, not their names), bounded in size."""

from __future__ import annotations

from django.utils.translation import gettext as _

from linli.errors import ValidationFailed

IMAGE_MAGIC = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024


def photo_extension(content: bytes, *, field: str = "photo") -> str:
    """``jpg`` or ``png`` for an acceptable photo; a clear error otherwise."""
    if len(content) > MAX_PHOTO_BYTES:
        raise ValidationFailed(
            _("The photo is larger than 5 MB."), code="file_too_large", field=field
        )
    for magic, extension in IMAGE_MAGIC.items():
        if content.startswith(magic):
            return extension
    raise ValidationFailed(_("Send a JPEG or PNG photo."), code="file_type_invalid", field=field)

"""Photos in a tenant's admin: the API's check, a random name, and no file left behind.

A photo uploaded in a change form is decoded like one sent to the API
(``linli.uploads``), so an admin cannot store a page or a script under a photo's field
either; the file a row stops naming (replaced, cleared, or the row deleted) is deleted
once the change commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.files import File
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from linli.errors import ValidationFailed
from linli.storage import stored_file_delete_on_commit
from linli.uploads import MAX_PHOTO_BYTES, phone_photo, photo_extension, photo_name


class PhotoFormField(forms.FileField):
    """A file field that keeps only a JPEG or PNG that decodes, under a random name."""

    phone_sized = False

    def to_python(self, data: Any) -> File[Any] | None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = super().to_python(data)
        if upload is None:
            return None
        content = upload.read(MAX_PHOTO_BYTES + 1)
        try:
            if self.phone_sized:
                kept = phone_photo(content)
                return SimpleUploadedFile(photo_name("photo", "jpg"), kept, "image/jpeg")
            extension = photo_extension(content)
        except ValidationFailed as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from exc
        upload.seek(0)
        upload.name = photo_name("photo", extension)
        return upload


class PhonePhotoFormField(PhotoFormField):
    """A photo shown on phones: checked the same way, then kept phone-sized, upright and
    without metadata (``linli.uploads.phone_photo``)."""

    phone_sized = True


class PhotoAdminMixin:
    """Before the ModelAdmin, for a model that keeps photos in ``photo_fields`` (those in
    ``phone_photo_fields`` kept phone-sized)."""

    photo_fields: tuple[str, ...] = ()
    phone_photo_fields: tuple[str, ...] = ()

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        if db_field.name in self.phone_photo_fields:
            kwargs["form_class"] = PhonePhotoFormField
        elif db_field.name in self.photo_fields:
            kwargs["form_class"] = PhotoFormField
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        replaced = [
            getattr(form.initial.get(field), "name", "")
            for field in self.photo_fields
            if change and field in form.changed_data
        ]
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        _delete_on_commit(replaced)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        names = self.stored_photos([obj])
        super().delete_model(request, obj)  # type: ignore[misc]
        _delete_on_commit(names)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        names = self.stored_photos(queryset)
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        _delete_on_commit(names)

    def stored_photos(self, objs: Iterable[Any]) -> list[str | None]:
        """The names of the files that go with these rows (when they are deleted)."""
        return [getattr(obj, field).name for obj in objs for field in self.photo_fields]


def _delete_on_commit(names: Iterable[str | None]) -> None:
    for name in names:
        stored_file_delete_on_commit(name=name)

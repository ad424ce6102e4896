"""Uploaded files, each tenant's under a folder of its own (``MEDIA_ROOT/<schema>/``)."""

from __future__ import annotations

from typing import Any

from django_tenants.files.storage import TenantFileSystemStorage


class TenantFileStorage(TenantFileSystemStorage):
    """django-tenants' storage, also forgetting its tenant root when ``MEDIA_ROOT`` changes
    (the stock class keeps the old root, and files would land in the old place)."""

    def _clear_cached_properties(self, setting: str, **kwargs: Any) -> None:
        super()._clear_cached_properties(setting, **kwargs)
        if setting in {"MEDIA_ROOT", "MEDIA_URL"}:
            self.__dict__.pop("relative_media_root", None)
            self.__dict__.pop("relative_media_url", None)

"""Uploaded files, each tenant's under a folder of its own (``MEDIA_ROOT/<schema>/``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django_tenants.files.storage import TenantFileSystemStorage


class TenantFileStorage(TenantFileSystemStorage):
    """django-tenants' storage, also forgetting its tenant root when ``MEDIA_ROOT`` changes
    (the stock class keeps the old root, and files would land in the old place)."""

    def _clear_cached_properties(self, setting: str, **kwargs: Any) -> None:
        super()._clear_cached_properties(setting, **kwargs)
        if setting in {"MEDIA_ROOT", "MEDIA_URL"}:
            self.__dict__.pop("relative_media_root", None)
            self.__dict__.pop("relative_media_url", None)


def stored_file_delete_on_commit(*, name: str | None) -> None:
    """Delete a file no row names any more, once the transaction that stopped naming it
    commits: a rollback brings the row back, and its file is still there.

    The path is fixed now, in the current tenant's folder, not in whichever schema is
    current when the commit happens.
    """
    if not name:
        return
    path = Path(default_storage.path(name))
    transaction.on_commit(lambda: path.unlink(missing_ok=True))

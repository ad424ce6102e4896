"""Uploaded photos are served on their own tenant's host only, as what their name says they
are, and nothing else under /media/ is: not another tenant's, not a folder, not a path out
of the tenant's folder, not a file of another kind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django_tenants.utils import tenant_context

from linli.registry.services import tenant_suspend
from linli.uploads import photo_name
from tests.photos import jpeg, png


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def photo(tenant, media) -> tuple[str, bytes]:
    """A product photo of alpha's, stored as the API stores one; its URL and bytes."""
    content = png()
    with tenant_context(tenant):
        name = default_storage.save(
            "shop/products/" + photo_name("product-1", "png"), ContentFile(content)
        )
        return default_storage.url(name), content


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_photo_is_served_on_its_tenants_host(photo, tenant_client):
    url, content = photo
    assert url.startswith("/media/alpha/shop/products/product-1-")
    response = tenant_client.get(url)
    assert response.status_code == 200
    assert body(response) == content
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(content))
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_type_comes_from_the_name_not_the_bytes(tenant, media, tenant_client):
    # given: PNG bytes stored under a .jpg name (as an old upload could be)
    with tenant_context(tenant):
        name = default_storage.save("deliberation/photos/topic-1.JPG", ContentFile(png()))
        url = default_storage.url(name)
    # then
    assert tenant_client.get(url)["Content-Type"] == "image/jpeg"


def test_another_tenants_host_answers_404_for_the_same_path(photo, other_client, other_tenant):
    url, _content = photo
    assert other_client.get(url).status_code == 404
    # nor under its own schema's name: the file is only in alpha's folder
    assert other_client.get(url.replace("/media/alpha/", "/media/beta/")).status_code == 404


def test_the_platform_host_serves_no_photos(photo, platform_client):
    url, _content = photo
    assert platform_client.get(url).status_code == 404


def test_a_suspended_tenants_photos_are_not_served(photo, tenant, tenant_client):
    url, _content = photo
    tenant_suspend(slug=tenant.slug)
    assert tenant_client.get(url).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/media/alpha/../beta/shop/products/secret.png",
        "/media/alpha/shop/../../beta/shop/products/secret.png",
        "/media/alpha/shop/products/%2e%2e/%2e%2e/%2e%2e/beta/shop/products/secret.png",
        "/media/alpha/shop%2F..%2F..%2Fbeta%2Fshop%2Fproducts%2Fsecret.png",
        "/media/alpha/%2Fetc%2Fpasswd.png",
        "/media/alpha//etc/passwd.png",
        "/media/alpha/shop\\..\\..\\beta\\shop\\products\\secret.png",
        "/media/alpha/shop/products/secret.png%00.png",
        "/media//beta/shop/products/secret.png",
        "/media/beta/shop/products/secret.png",
        "/media/alpha",
        "/media/alpha/",
        "/media/alpha/shop/products",
        "/media/alpha/shop/products/",
        "/media/alpha/.hidden.png",
        "/media/alpha/shop/products/notes.html",
        "/media/alpha/shop/products/notes.svg",
        "/media/alpha/shop/products/missing.png",
    ],
)
def test_paths_out_of_the_folder_folders_and_other_files_answer_404(
    tenant, other_tenant, media, tenant_client, path
):
    # given: a secret of beta's, and files of alpha's that are not photos
    for schema, name, content in [
        ("beta", "shop/products/secret.png", png()),
        ("alpha", "shop/products/notes.html", b"<script>alert(1)</script>"),
        ("alpha", "shop/products/notes.svg", b"<svg onload='alert(1)'/>"),
        ("alpha", ".hidden.png", png()),
        ("alpha", "shop/products/product-1.png", png()),
    ]:
        target = media / schema / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (media / "etc").mkdir()
    (media / "etc" / "passwd.png").write_bytes(png())
    # when
    response = tenant_client.get(path)
    # then
    assert response.status_code == 404
    assert b"<script" not in response.content and b"secret" not in response.content


def test_a_link_out_of_the_tenants_folder_answers_404(tenant, other_tenant, media, tenant_client):
    # given: a symbolic link in alpha's folder to a photo in beta's
    secret = media / "beta" / "shop" / "products" / "secret.png"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(png())
    (media / "alpha" / "shop").mkdir(parents=True)
    os.symlink(secret, media / "alpha" / "shop" / "link.png")
    # then
    assert tenant_client.get("/media/alpha/shop/link.png").status_code == 404


def test_head_answers_the_headers_without_the_bytes(photo, tenant_client):
    url, content = photo
    response = tenant_client.head(url)
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Length"] == str(len(content))
    assert response["Content-Type"] == "image/png"


def test_an_unchanged_photo_answers_304(photo, tenant_client):
    url, _content = photo
    first = tenant_client.get(url)
    again = tenant_client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert again.status_code == 304
    assert again["Cache-Control"] == "private, max-age=31536000, immutable"


def test_only_get_and_head(photo, tenant_client):
    url, _content = photo
    assert tenant_client.post(url).status_code == 405
    assert tenant_client.delete(url).status_code == 405


def test_a_jpeg_is_served_as_one(tenant, media):
    with tenant_context(tenant):
        name = default_storage.save("helpteam/evidence/x.jpg", ContentFile(jpeg()))
        url = default_storage.url(name)
    client = Client(HTTP_HOST=tenant.domains.get(is_primary=True).domain)
    assert client.get(url)["Content-Type"] == "image/jpeg"

"""Three shipped languages; a tenant's own language is the default on its host."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings

from linli.registry.models import Tenant
from linli.registry.services import tenant_suspend

LOCALE_DIR = Path(settings.LOCALE_PATHS[0])


def test_languages_are_the_three_shipped_ones():
    assert [code for code, _name in settings.LANGUAGES] == ["zh-hans", "zh-hant", "en"]


@pytest.mark.parametrize("locale", ["zh_Hans", "zh_Hant"])
def test_every_message_is_translated(locale):
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "django.po").open("rb") as po:
        catalog = read_po(po)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    # A fuzzy entry (a guess makemessages made from a similar string) is never compiled:
    # the page would show English.
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    assert (LOCALE_DIR / locale / "LC_MESSAGES" / "django.mo").exists(), "run `make install`"


def test_tenant_language_is_the_default_on_its_host(tenant, tenant_client):
    tenant_suspend(slug=tenant.slug)
    response = tenant_client.get("/r/")  # no Accept-Language header
    assert response.status_code == 403
    assert "本站点已暂停" in response.content.decode()


def test_traditional_chinese_tenant(tenant, tenant_client):
    Tenant.objects.filter(pk=tenant.pk).update(locale="zh-hant")
    tenant_suspend(slug=tenant.slug)
    assert "本站點已暫停" in tenant_client.get("/r/").content.decode()


def test_visitors_own_language_wins_over_the_tenants(tenant, tenant_client):
    tenant_suspend(slug=tenant.slug)
    response = tenant_client.get("/r/", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert "This site is paused" in response.content.decode()


def test_admin_pages_follow_the_tenant_language(tenant_client):
    response = tenant_client.get("/admin/login/")
    assert response.status_code == 200
    assert response["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()

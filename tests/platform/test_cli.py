"""The `linli` command, run in-process against the test database."""

from __future__ import annotations

import re

import pytest
from django.db import connection

from linli.cli import main
from linli.registry.models import Domain, Tenant
from linli.registry.validators import (
    SLUG_ENDS_WITH_UNDERSCORE,
    SLUG_IDNA_FORM,
    SLUG_PUNYCODE,
    slug_to_host_label,
)


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def test_create_then_list(db, capsys, monkeypatch):
    monkeypatch.setenv("LINLI_ADMIN_PASSWORD", "a-long-password")
    code = main(
        [
            "tenants",
            "create",
            "wanxiang",
            "--name",
            "萬象公館",
            "--locale",
            "zh-hant",
            "--admin-username",
            "shopkeeper",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == "Created tenant wanxiang: wanxiang.localhost"
    assert Tenant.objects.get(schema_name="wanxiang").locale == "zh-hant"

    assert main(["tenants", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["SLUG", "STATUS", "LANG", "DOMAINS", "NAME"]
    assert [line.split()[0] for line in out[1:-1]] == ["alpha", "beta", "wanxiang"]
    assert out[-1] == "3 tenant(s)"


def test_bad_slug_is_one_clear_line_not_a_traceback(db, capsys):
    code = main(["tenants", "create", "Bad Slug", "--name", "x"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("linli: error: A tenant slug must be 2 to 40 characters")
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("tenb_", SLUG_ENDS_WITH_UNDERSCORE),
        ("xn__enxi_k6d", SLUG_PUNYCODE),
        ("ab__c", SLUG_IDNA_FORM),
    ],
)
def test_a_slug_that_makes_no_dns_label_is_refused_and_nothing_is_made(db, capsys, slug, message):
    code = main(["tenants", "create", slug, "--name", "x"])
    assert code == 1
    assert capsys.readouterr().err == f"linli: error: {message}\n"
    assert not Tenant.objects.filter(schema_name=slug).exists()
    assert not Domain.objects.filter(domain__startswith=slug_to_host_label(slug)).exists()
    assert not _schema_exists(slug)


def test_debug_flag_shows_the_traceback(db):
    from linli.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        main(["--debug", "tenants", "create", "Bad Slug", "--name", "x"])


def test_suspend_and_resume(db, capsys):
    assert main(["tenants", "suspend", "alpha"]) == 0
    assert Tenant.objects.get(schema_name="alpha").status == "suspended"
    assert main(["tenants", "resume", "alpha"]) == 0
    assert Tenant.objects.get(schema_name="alpha").status == "active"
    assert main(["tenants", "suspend", "nosuch"]) == 1
    assert "No tenant “nosuch”" in capsys.readouterr().err


def test_delete_needs_confirmation_and_keeps_everything_without_it(db, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "not-the-slug")
    assert main(["tenants", "delete", "beta"]) == 1
    assert "Not deleted." in capsys.readouterr().out
    assert Tenant.objects.filter(schema_name="beta").exists()
    assert _schema_exists("beta")


def test_delete_refuses_silently_piped_input(db, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(SystemExit) as exit_:
        main(["tenants", "delete", "beta"])
    assert "confirm with --yes" in str(exit_.value.code)
    assert _schema_exists("beta")


def test_delete_with_typed_confirmation_removes_schema_and_rows(db, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "beta")
    assert main(["tenants", "delete", "beta"]) == 0
    assert not Tenant.objects.filter(schema_name="beta").exists()
    assert not Domain.objects.filter(domain="beta.localhost").exists()
    assert not _schema_exists("beta")


def test_rollout_finds_exactly_the_schemas_that_are_behind(db):
    # `linli migrate` commits, so only its "who is behind" query is checked in a transaction
    from linli.registry import provisioning
    from linli.registry.rollout import schemas_behind

    blueprint = provisioning.blueprint_current()
    assert schemas_behind(migrations=blueprint.migrations) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM alpha.django_migrations WHERE app = 'auth' AND name LIKE '0012%%'"
        )
    assert schemas_behind(migrations=blueprint.migrations) == ["alpha"]


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """For commands that commit (migrations cannot run inside the test transaction)."""
    with django_db_blocker.unblock():
        yield


def test_migrate_brings_back_only_the_schema_that_is_behind(committed, capsys):
    # given: alpha lost the record of one migration, beta is up to date
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM alpha.django_migrations "
            "WHERE app = 'auth' AND name = '0012_alter_user_first_name_max_length'"
        )
    # when
    assert main(["migrate"]) == 0
    # then: alpha was migrated again and is complete; nothing else was touched
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(
        r"Migrated the public schema, the template and 1 tenant schema\(s\) in \d+\.\d s\.", out
    ), out
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM alpha.django_migrations "
            "WHERE app = 'auth' AND name = '0012_alter_user_first_name_max_length'"
        )
        assert cursor.fetchone()[0] == 1
    assert main(["migrate"]) == 0
    assert "and 0 tenant schema(s)" in capsys.readouterr().out

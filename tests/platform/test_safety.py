import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from linli.safety import (
    DEBUG_ON_PUBLIC_HOST,
    DEFAULT_SECRET_KEY,
    DEVELOPMENT_SECRET_KEY,
    SHORT_SECRET_KEY,
    check_production_safety,
)

STRONG_KEY = "k" * 64


@pytest.mark.parametrize("domain", ["localhost", "linli.localhost", "127.0.0.1", "[::1]"])
def test_development_defaults_are_fine_on_a_local_host(domain):
    assert (
        check_production_safety(debug=True, secret_key=DEVELOPMENT_SECRET_KEY, base_domain=domain)
        is None
    )


@pytest.mark.parametrize(
    "domain", ["linli.internal", "linli.local", "linli.test", "testserver", "10.0.0.5"]
)
def test_names_that_other_machines_reach_are_not_local(domain):
    # .internal, .local and .test name real networks: DEBUG and the development key
    # there would show tracebacks and sign sessions with a public key to every user
    with pytest.raises(ImproperlyConfigured) as err:
        check_production_safety(debug=True, secret_key=DEVELOPMENT_SECRET_KEY, base_domain=domain)
    assert str(err.value) == DEBUG_ON_PUBLIC_HOST.format(domain=domain)


def test_debug_on_a_public_host_is_refused():
    with pytest.raises(ImproperlyConfigured) as err:
        check_production_safety(debug=True, secret_key=STRONG_KEY, base_domain="linli.cn")
    assert str(err.value) == DEBUG_ON_PUBLIC_HOST.format(domain="linli.cn")


def test_default_secret_key_on_a_public_host_is_refused():
    with pytest.raises(ImproperlyConfigured) as err:
        check_production_safety(
            debug=False, secret_key=DEVELOPMENT_SECRET_KEY, base_domain="linli.cn"
        )
    assert str(err.value) == DEFAULT_SECRET_KEY.format(domain="linli.cn")


def test_short_secret_key_on_a_public_host_is_refused():
    with pytest.raises(ImproperlyConfigured) as err:
        check_production_safety(debug=False, secret_key="short", base_domain="linli.cn")
    assert str(err.value) == SHORT_SECRET_KEY


def test_safe_production_settings_pass():
    assert (
        check_production_safety(debug=False, secret_key=STRONG_KEY, base_domain="linli.cn") is None
    )


def test_the_command_refuses_to_start_with_one_clear_line():
    env = {
        **os.environ,
        "LINLI_BASE_DOMAIN": "linli.cn",
        "DEBUG": "true",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none",
    }
    result = subprocess.run(
        [sys.executable, "-m", "linli", "tenants", "list"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "linli: error: " + DEBUG_ON_PUBLIC_HOST.format(
        domain="linli.cn"
    )
    assert "Traceback" not in result.stderr

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linli.errors import ValidationFailed
from linli.registry.validators import (
    SLUG_ENDS_WITH_UNDERSCORE,
    SLUG_IDNA_FORM,
    SLUG_PUNYCODE,
    slug_to_host_label,
    validate_slug,
)

# A DNS label (RFC 1035) that is not in the reserved "??--" form (RFC 5891 4.2.3.1).
DNS_LABEL = re.compile(r"^(?!..--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize("slug", ["cenxi", "xuefu_no1", "d2", "a" * 40, "a__b", "abc__d", "xn"])
def test_valid_slugs_are_accepted(slug):
    assert validate_slug(slug) == slug


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "a",
        "Cenxi",
        "1city",
        "_linli_template",
        "has-hyphen",
        "sp ace",
        "a" * 41,
        'x";drop',
        "ünï",
        "x.y",
    ],
)
def test_malformed_slugs_are_refused_with_a_clear_code(slug):
    with pytest.raises(ValidationFailed) as err:
        validate_slug(slug)
    assert err.value.code == "slug_invalid"
    assert err.value.field == "slug"
    assert "lowercase letters, digits and underscores" in err.value.message


@pytest.mark.parametrize(
    "slug", ["public", "information_schema", "pg_catalog", "pg_x", "www", "api"]
)
def test_reserved_slugs_are_refused(slug):
    with pytest.raises(ValidationFailed) as err:
        validate_slug(slug)
    assert err.value.code == "slug_reserved"
    assert slug in err.value.message


@pytest.mark.parametrize(
    ("slug", "code", "message"),
    [
        ("tenb_", "slug_ends_with_underscore", SLUG_ENDS_WITH_UNDERSCORE),
        ("a__", "slug_ends_with_underscore", SLUG_ENDS_WITH_UNDERSCORE),
        # "\u0441enxi" (with a Cyrillic es for the c) in punycode, written as a slug
        ("xn__enxi_k6d", "slug_punycode", SLUG_PUNYCODE),
        ("xn__x", "slug_punycode", SLUG_PUNYCODE),
        ("ab__c", "slug_idna_form", SLUG_IDNA_FORM),
        ("zz___x", "slug_idna_form", SLUG_IDNA_FORM),
    ],
)
def test_slugs_whose_host_name_is_no_dns_label_are_refused(slug, code, message):
    with pytest.raises(ValidationFailed) as err:
        validate_slug(slug)
    assert (err.value.code, err.value.field, err.value.message) == (code, "slug", str(message))


def test_that_slug_is_the_look_alike_it_pretends_to_be():
    assert "\u0441enxi".encode("idna").decode().replace("-", "_") == "xn__enxi_k6d"


@given(st.from_regex(r"[a-z][a-z0-9_]{1,39}", fullmatch=True))
def test_every_accepted_slug_gives_a_dns_label(slug):
    try:
        validate_slug(slug)
    except ValidationFailed:
        return
    assert DNS_LABEL.match(slug_to_host_label(slug))


def test_underscores_become_hyphens_in_the_host_name():
    assert slug_to_host_label("xuefu_no1") == "xuefu-no1"

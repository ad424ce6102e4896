import pytest

from linli.errors import ValidationFailed
from linli.registry.validators import slug_to_host_label, validate_slug


@pytest.mark.parametrize("slug", ["cenxi", "xuefu_no1", "d2", "a" * 40])
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


def test_underscores_become_hyphens_in_the_host_name():
    assert slug_to_host_label("xuefu_no1") == "xuefu-no1"

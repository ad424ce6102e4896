"""The shop's fixtures (Mr Xu's estate, its shop and an open batch) serve the pages too."""

from tests.tenants.shop.conftest import batch, estate, in_shop_tenant  # noqa: F401

"""The one typed API, served on every tenant's host at /api/v1/."""

from ninja import NinjaAPI

from api.tenancy.routes import router as tenancy_router

api = NinjaAPI(
    title="Linli API",
    version="1",
    description="Neighbourhood programmes: community, deliberation, help team, shop, points.",
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
api.add_router("/tenant", tenancy_router, tags=["tenant"])

from ninja import Schema


class TenantOut(Schema):
    slug: str
    name: str
    region: str
    locale: str
    time_zone: str
    currency: str
    status: str
    modules: list[str]
    terminology: dict[str, dict[str, str]]

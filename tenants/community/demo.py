"""The community part of the demo city: Cenxi (岑溪市), modelled on the scheme's own figures.

At full scale: streets, communities and grids above 170 estates, about 50,000
residents in some 18,000 households, a secretary per estate, leaders for every
building and unit, central households, 4,000+ volunteers and the partner
organisations that serve the estates. Names and numbers are generated, not
real people. Everything is bulk-inserted; nothing is saved row by row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from django.db import connection, transaction

from tenants.community.models import (
    Area,
    AreaLevel,
    Building,
    Estate,
    Household,
    Organisation,
    Resident,
    ResidentTag,
    Role,
    RoleAssignment,
    Term,
    Unit,
)

SURNAMES = (
    "李王张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰"
    "小红海燕文博子涵宇轩浩然欣怡梓萱思远佳琪雨桐俊杰嘉怡"
)
ESTATE_FIRST = (
    "学府",
    "万象",
    "碧桂",
    "翠湖",
    "金域",
    "御景",
    "龙湖",
    "华府",
    "锦绣",
    "阳光",
    "东方",
    "名门",
    "滨江",
    "桂园",
    "荔景",
    "书香",
    "凤凰",
    "天誉",
    "和美",
    "邻里",
    "义昌",
    "岑城",
    "南山",
    "紫荆",
)
ESTATE_SECOND = (
    "一号",
    "公馆",
    "花园",
    "名苑",
    "雅居",
    "新城",
    "华庭",
    "家园",
    "豪庭",
    "苑",
    "山庄",
    "广场",
)
STREETS = ("岑城街道", "义昌街道", "城中街道", "城东街道", "城南街道")
ROADS = ("学府路", "义昌大道", "玉梧大道", "城中路", "东华路", "南兴路", "桂岑路", "凤凰路")
TAGS = (
    ("党员", ResidentTag.Frequency.MONTHLY),
    ("独居老人", ResidentTag.Frequency.DAILY),
    ("残疾人", ResidentTag.Frequency.WEEKLY),
    ("留守儿童", ResidentTag.Frequency.WEEKLY),
    ("流动人口", ResidentTag.Frequency.MONTHLY),
)
ORGANISATIONS = (
    ("岑溪市供电局", Organisation.Kind.UTILITY),
    ("岑溪市自来水公司", Organisation.Kind.UTILITY),
    ("岑溪市住房和城乡建设局", Organisation.Kind.DEPARTMENT),
    ("岑溪市民政局", Organisation.Kind.DEPARTMENT),
    ("岑溪市卫生健康局", Organisation.Kind.DEPARTMENT),
    ("岑溪市教育局", Organisation.Kind.DEPARTMENT),
)
SERVICE_COMPANIES = ("家政服务", "养老服务", "教育培训", "社区诊所", "物业服务", "家电维修")


@dataclass(frozen=True)
class Scale:
    streets: int
    communities_per_street: int
    grids_per_community: int
    estates: int
    buildings: tuple[int, int]
    units_per_building: int
    flats_per_unit: int
    residents_per_household: tuple[int, int]
    volunteers_per_estate: int
    villages: int
    companies: int


SCALES = {
    "small": Scale(1, 1, 2, 3, (2, 2), 2, 4, (1, 4), 3, 2, 2),
    "full": Scale(5, 4, 3, 170, (4, 8), 2, 10, (1, 4), 24, 20, 30),
}


def _name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))
    return rng.choice(SURNAMES) + given


def _estate_names(count: int) -> list[str]:
    names = ["学府一号", "万象公馆"]
    for second in ESTATE_SECOND:
        for first in ESTATE_FIRST:
            name = first + second
            if name not in names:
                names.append(name)
    return names[:count]


@transaction.atomic
def community_demo_build(*, scale: str, seed: int = 2021) -> dict[str, int]:
    """Fill the current tenant's community with the demo city. The tenant must be empty."""
    shape = SCALES[scale]
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    levels = AreaLevel.objects.bulk_create(
        [
            AreaLevel(depth=1, name="街道"),
            AreaLevel(depth=2, name="社区"),
            AreaLevel(depth=3, name="网格"),
        ]
    )
    streets = Area.objects.bulk_create(
        Area(level=levels[0], name=STREETS[i % len(STREETS)], path="") for i in range(shape.streets)
    )
    communities = Area.objects.bulk_create(
        Area(level=levels[1], parent=street, name=f"{street.name[:2]}第{j + 1}社区", path="")
        for street in streets
        for j in range(shape.communities_per_street)
    )
    grids = Area.objects.bulk_create(
        Area(level=levels[2], parent=community, name=f"{community.name}第{k + 1}网格", path="")
        for community in communities
        for k in range(shape.grids_per_community)
    )
    for area in [*streets, *communities, *grids]:
        parent_path = area.parent.path if area.parent else "/"
        area.path = f"{parent_path}{area.pk}/"
    Area.objects.bulk_update([*streets, *communities, *grids], ["path"])

    estates = Estate.objects.bulk_create(
        Estate(
            name=name,
            area=grids[i % len(grids)],
            address=f"岑溪市{rng.choice(ROADS)}{rng.randint(1, 399)}号",
            latitude=round(22.918 + rng.uniform(-0.03, 0.03), 6),
            longitude=round(110.994 + rng.uniform(-0.03, 0.03), 6),
        )
        for i, name in enumerate(_estate_names(shape.estates))
    )
    buildings = Building.objects.bulk_create(
        Building(estate=estate, name=f"{b + 1}栋")
        for estate in estates
        for b in range(rng.randint(*shape.buildings))
    )
    units = Unit.objects.bulk_create(
        Unit(building=building, name=f"{u + 1}单元")
        for building in buildings
        for u in range(shape.units_per_building)
    )
    households = Household.objects.bulk_create(
        (
            Household(unit=unit, flat_number=f"{f // 2 + 1}0{f % 2 + 1}")
            for unit in units
            for f in range(shape.flats_per_unit)
        ),
        batch_size=5000,
    )
    tags = ResidentTag.objects.bulk_create(
        ResidentTag(name=name, outreach_frequency=frequency) for name, frequency in TAGS
    )
    residents: list[Resident] = []
    phone = 0
    for household in households:
        for _ in range(rng.randint(*shape.residents_per_household)):
            phone += 1
            residents.append(
                Resident(
                    household=household,
                    display_name=_name(rng),
                    phone=f"+86139{phone:08d}" if rng.random() < 0.7 else None,
                    preferred_language="zh-hant",
                    contact_consent=rng.random() < 0.8,
                    needs_assistance=rng.random() < 0.06,
                    moved_in_on=date(rng.randint(2005, 2021), rng.randint(1, 12), 1),
                )
            )
    Resident.objects.bulk_create(residents, batch_size=5000)
    through = Resident.tags.through
    through.objects.bulk_create(
        (
            through(resident_id=resident.pk, residenttag_id=rng.choice(tags).pk)
            for resident in residents
            if rng.random() < 0.15
        ),
        batch_size=5000,
    )

    by_household: dict[int, list[Resident]] = {}
    for resident in residents:
        by_household.setdefault(resident.household_id or 0, []).append(resident)
    households_by_unit: dict[int, list[Household]] = {}
    for household in households:
        households_by_unit.setdefault(household.unit_id, []).append(household)
    units_by_building: dict[int, list[Unit]] = {}
    for unit in units:
        units_by_building.setdefault(unit.building_id, []).append(unit)
    buildings_by_estate: dict[int, list[Building]] = {}
    for building in buildings:
        buildings_by_estate.setdefault(building.estate_id, []).append(building)

    def someone_in(unit: Unit) -> Resident:
        household = rng.choice(households_by_unit[unit.pk])
        return rng.choice(by_household[household.pk])

    start = date(2021, 4, 1)
    roles: list[RoleAssignment] = []
    for estate in estates:
        estate_units = [u for b in buildings_by_estate[estate.pk] for u in units_by_building[b.pk]]
        roles.append(
            RoleAssignment(
                resident=someone_in(rng.choice(estate_units)),
                role=Role.ESTATE_SECRETARY,
                scope="estate",
                estate=estate,
                starts_on=start,
            )
        )
        for _ in range(shape.volunteers_per_estate):
            roles.append(
                RoleAssignment(
                    resident=someone_in(rng.choice(estate_units)),
                    role=Role.VOLUNTEER,
                    scope="estate",
                    estate=estate,
                    starts_on=start,
                )
            )
        for building in buildings_by_estate[estate.pk]:
            roles.append(
                RoleAssignment(
                    resident=someone_in(rng.choice(units_by_building[building.pk])),
                    role=Role.BUILDING_LEADER,
                    scope="building",
                    building=building,
                    starts_on=start,
                )
            )
            for unit in units_by_building[building.pk]:
                roles.append(
                    RoleAssignment(
                        resident=someone_in(unit),
                        role=Role.UNIT_LEADER,
                        scope="unit",
                        unit=unit,
                        starts_on=start,
                    )
                )
                roles.append(
                    RoleAssignment(
                        resident=someone_in(unit),
                        role=Role.CENTRAL_HOUSEHOLD,
                        scope="unit",
                        unit=unit,
                        starts_on=start,
                    )
                )
    for grid in grids:
        estate = (
            next(e for e in estates if e.area_id == grid.pk)
            if any(e.area_id == grid.pk for e in estates)
            else estates[0]
        )
        unit = units_by_building[buildings_by_estate[estate.pk][0].pk][0]
        roles.append(
            RoleAssignment(
                resident=someone_in(unit),
                role=Role.GRID_WORKER,
                scope="area",
                area=grid,
                starts_on=start,
            )
        )
    RoleAssignment.objects.bulk_create(roles, batch_size=5000)

    organisations = [
        Organisation(name=name, kind=kind, contact_name=_name(rng), contact_phone=f"0774-82{i:05d}")
        for i, (name, kind) in enumerate(ORGANISATIONS)
    ]
    organisations += [
        Organisation(
            name=f"{rng.choice(('归义', '南渡', '马路', '糯垌', '筋竹', '大隆'))}镇"
            f"第{v + 1}村农业专业合作社",
            kind=Organisation.Kind.COOPERATIVE,
            contact_name=_name(rng),
        )
        for v in range(shape.villages)
    ]
    organisations += [
        Organisation(
            name=f"岑溪市{ESTATE_FIRST[c // len(SERVICE_COMPANIES) % len(ESTATE_FIRST)]}"
            f"{SERVICE_COMPANIES[c % len(SERVICE_COMPANIES)]}有限公司",
            kind=(
                Organisation.Kind.PROPERTY_MANAGEMENT
                if SERVICE_COMPANIES[c % len(SERVICE_COMPANIES)] == "物业服务"
                else Organisation.Kind.COMPANY
            ),
            contact_name=_name(rng),
        )
        for c in range(shape.companies)
    ]
    Organisation.objects.bulk_create(organisations)
    Term.objects.bulk_create(
        [
            Term(key="help_team", language="zh-hant", label="鄰里幫幫團"),
            Term(key="help_team", language="zh-hans", label="邻里帮帮团"),
            Term(key="estate", language="zh-hans", label="小区"),
            Term(key="estate", language="zh-hant", label="小區"),
            Term(key="neighbourhood_council", language="zh-hans", label="邻里议事会"),
            Term(key="neighbourhood_council", language="zh-hant", label="鄰里議事會"),
        ]
    )
    # Fresh statistics, so the planner uses the indexes at once rather than after
    # autovacuum gets round to the bulk-loaded tables.
    with connection.cursor() as cursor:
        for model in (Area, Estate, Building, Unit, Household, Resident, through, RoleAssignment):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
    return {
        "areas": len(streets) + len(communities) + len(grids),
        "estates": len(estates),
        "buildings": len(buildings),
        "units": len(units),
        "households": len(households),
        "residents": len(residents),
        "roles": len(roles),
        "volunteers": sum(1 for r in roles if r.role == Role.VOLUNTEER),
        "organisations": len(organisations),
    }

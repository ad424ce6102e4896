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
    "李王張劉陳楊黃趙吳周徐孫馬朱胡郭何高林羅鄭梁謝宋唐許韓馮鄧曹彭曾蕭田董袁潘蔣蔡余杜葉程蘇魏呂"
    "丁任沈姚盧姜崔鍾譚陸汪范金石廖賈夏韋方白鄒孟熊秦邱江尹薛段雷侯龍史陶黎賀顧毛郝龔邵萬錢嚴覃武戴莫孔湯"
)
GIVEN = (
    "偉芳娜秀英敏靜麗強磊軍洋勇艷傑娟濤明超秀蘭霞平剛桂英華建國志紅玉蘭"
    "小紅海燕文博子涵宇軒浩然欣怡梓萱思遠佳琪雨桐俊傑嘉怡"
)
ESTATE_FIRST = (
    "學府",
    "萬象",
    "碧桂",
    "翠湖",
    "金域",
    "御景",
    "龍湖",
    "華府",
    "錦繡",
    "陽光",
    "東方",
    "名門",
    "濱江",
    "桂園",
    "荔景",
    "書香",
    "鳳凰",
    "天譽",
    "和美",
    "鄰里",
    "義昌",
    "岑城",
    "南山",
    "紫荊",
)
ESTATE_SECOND = (
    "一號",
    "公館",
    "花園",
    "名苑",
    "雅居",
    "新城",
    "華庭",
    "家園",
    "豪庭",
    "苑",
    "山莊",
    "廣場",
)
STREETS = ("岑城街道", "義昌街道", "城中街道", "城東街道", "城南街道")
ROADS = ("學府路", "義昌大道", "玉梧大道", "城中路", "東華路", "南興路", "桂岑路", "鳳凰路")
TAGS = (
    ("黨員", ResidentTag.Frequency.MONTHLY),
    ("獨居老人", ResidentTag.Frequency.DAILY),
    ("殘疾人", ResidentTag.Frequency.WEEKLY),
    ("留守兒童", ResidentTag.Frequency.WEEKLY),
    ("流動人口", ResidentTag.Frequency.MONTHLY),
)
ORGANISATIONS = (
    ("岑溪市供電局", Organisation.Kind.UTILITY),
    ("岑溪市自來水公司", Organisation.Kind.UTILITY),
    ("岑溪市住房和城鄉建設局", Organisation.Kind.DEPARTMENT),
    ("岑溪市民政局", Organisation.Kind.DEPARTMENT),
    ("岑溪市衛生健康局", Organisation.Kind.DEPARTMENT),
    ("岑溪市教育局", Organisation.Kind.DEPARTMENT),
)
SERVICE_COMPANIES = ("家政服務", "養老服務", "教育培訓", "社區診所", "物業服務", "家電維修")


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
    names = ["學府一號", "萬象公館"]
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
            AreaLevel(depth=2, name="社區"),
            AreaLevel(depth=3, name="網格"),
        ]
    )
    streets = Area.objects.bulk_create(
        Area(level=levels[0], name=STREETS[i % len(STREETS)], path="") for i in range(shape.streets)
    )
    communities = Area.objects.bulk_create(
        Area(level=levels[1], parent=street, name=f"{street.name[:2]}第{j + 1}社區", path="")
        for street in streets
        for j in range(shape.communities_per_street)
    )
    grids = Area.objects.bulk_create(
        Area(level=levels[2], parent=community, name=f"{community.name}第{k + 1}網格", path="")
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
            address=f"岑溪市{rng.choice(ROADS)}{rng.randint(1, 399)}號",
            latitude=round(22.918 + rng.uniform(-0.03, 0.03), 6),
            longitude=round(110.994 + rng.uniform(-0.03, 0.03), 6),
        )
        for i, name in enumerate(_estate_names(shape.estates))
    )
    buildings = Building.objects.bulk_create(
        Building(estate=estate, name=f"{b + 1}棟")
        for estate in estates
        for b in range(rng.randint(*shape.buildings))
    )
    units = Unit.objects.bulk_create(
        Unit(building=building, name=f"{u + 1}單元")
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
            name=f"{rng.choice(('歸義', '南渡', '馬路', '糯垌', '筋竹', '大隆'))}鎮"
            f"第{v + 1}村農業專業合作社",
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
                if SERVICE_COMPANIES[c % len(SERVICE_COMPANIES)] == "物業服務"
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
            Term(key="estate", language="zh-hant", label="小區"),
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

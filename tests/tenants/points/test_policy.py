"""Points' policy, one table per kind of action: every kind of caller by every kind of
account and transaction, through the API, with the exact status and problem code, and
the ledger untouched by every refusal; the resident pages show each person their own.
The rules live in ``tenants.points.access``; the world is ``tests/tenants/community/world.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from linli.registry.services import module_settings_update
from tenants.points.models import Account, Transaction
from tenants.points.services import account_for_resident, points_adjust, points_award, points_redeem
from tests.tenants.community.world import World, build_world, call, problem, signed_in

OK, CREATED = (200, None), (201, None)
NO_ACCOUNT = (404, "account_not_found")
NO_RESIDENT = (404, "resident_not_found")
NOT_FOR_RESIDENTS = (403, "not_for_residents")
OUT_OF_SCOPE = (403, "out_of_scope")
SELF_APPROVAL = (403, "self_approval")
NOT_YOURS = (403, "not_your_points")


@pytest.fixture
def world(tenant, make_key) -> World:
    world = build_world(tenant, make_key)
    module_settings_update(slug="alpha", module="points", settings={"allow_transfers": True})
    with tenant_context(tenant):
        shop = Account.objects.create(kind=Account.Kind.SHOP, code="shop:1", name="鄰家小店")
        books: dict[str, Any] = {"shop": shop}
        for who in ("owner", "district_admin"):
            account = account_for_resident(resident_id=world.id(who))
            points_adjust(
                account_id=account.pk, amount=50, reason=f"{who}-start", idempotency_key=who
            )
            books[who] = account
            books[f"{who}_award"] = points_award(
                resident_id=world.id(who),
                category="default",
                hours=1,
                source=f"helpteam.request:{who}",
                idempotency_key=f"{who}-award",
            )
            books[f"{who}_redemption"] = points_redeem(
                resident_id=world.id(who),
                amount=10,
                to_account_id=shop.pk,
                idempotency_key=f"{who}-r",
            )
    world.extra = books
    return world


def _transactions(world: World) -> int:
    with tenant_context(world.tenant):
        return Transaction.objects.count()


# --- reading -----------------------------------------------------------------------------

READ = {
    "owner_account": lambda w: f"/api/v1/points/accounts/{w.extra['owner'].pk}",
    "owner_statement": lambda w: f"/api/v1/points/accounts/{w.extra['owner'].pk}/statement",
    "owner_by_resident": lambda w: f"/api/v1/points/residents/{w.id('owner')}/account",
    "shop_account": lambda w: f"/api/v1/points/accounts/{w.extra['shop'].pk}",
    "summary": lambda w: "/api/v1/points/summary",
    "settlements": lambda w: "/api/v1/points/settlements?month=2025-01",
}
SEE = [
    ("district", "owner_account", OK),
    ("district", "owner_statement", OK),
    ("district", "owner_by_resident", OK),
    ("district", "shop_account", OK),
    ("district", "summary", OK),
    ("district", "settlements", OK),
    ("district_admin", "owner_account", OK),  # leads the whole tenant
    ("district_admin", "summary", OK),
    ("owner", "owner_account", OK),  # their own
    ("owner", "owner_statement", OK),
    ("owner", "owner_by_resident", OK),
    ("owner", "shop_account", NO_ACCOUNT),
    ("owner", "summary", NOT_FOR_RESIDENTS),
    ("owner", "settlements", NOT_FOR_RESIDENTS),
    ("spouse", "owner_account", NO_ACCOUNT),  # the household is not the account
    ("spouse", "owner_statement", NO_ACCOUNT),
    ("spouse", "owner_by_resident", NO_RESIDENT),
    ("neighbour", "owner_account", NO_ACCOUNT),
    ("leader", "owner_account", OK),  # the residents of the places they lead
    ("leader", "owner_statement", OK),
    ("leader", "owner_by_resident", OK),
    ("leader", "shop_account", NO_ACCOUNT),
    ("leader", "summary", NOT_FOR_RESIDENTS),  # the books are the district's
    ("leader", "settlements", NOT_FOR_RESIDENTS),
    ("other_leader", "owner_account", NO_ACCOUNT),  # and nowhere else
    ("other_leader", "owner_by_resident", NO_RESIDENT),
    ("volunteer", "owner_account", NO_ACCOUNT),
    ("stranger", "owner_statement", NO_ACCOUNT),
]


@pytest.mark.parametrize(("caller", "what", "answer"), SEE)
def test_who_sees_which_account(world, caller, what, answer):
    response = call(world.client(caller), "get", READ[what](world))
    assert problem(response) == answer


def test_a_missing_account_and_someone_elses_look_alike(world):
    client = world.client("spouse")
    missing = client.get("/api/v1/points/accounts/999999").json()
    theirs = client.get(f"/api/v1/points/accounts/{world.extra['owner'].pk}").json()
    assert (missing["status"], missing["code"]) == (theirs["status"], theirs["code"])


# --- awards --------------------------------------------------------------------------------

AWARD = [
    ("district", "owner", CREATED),
    ("district_admin", "owner", CREATED),
    ("district_admin", "district_admin", SELF_APPROVAL),  # no one approves their own points
    ("leader", "owner", CREATED),  # for a service in the building they lead
    ("leader", "neighbour", CREATED),
    ("leader", "leader", SELF_APPROVAL),
    ("leader", "stranger", OUT_OF_SCOPE),  # another building
    ("other_leader", "owner", OUT_OF_SCOPE),
    ("volunteer", "owner", NOT_FOR_RESIDENTS),  # a volunteer leads nothing
    ("owner", "owner", NOT_FOR_RESIDENTS),
    ("owner", "spouse", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "beneficiary", "answer"), AWARD)
def test_who_awards_points_to_whom(world, caller, beneficiary, answer):
    before = _transactions(world)
    body = {
        "resident_id": world.id(beneficiary),
        "category": "default",
        "hours": 1,
        "source": "helpteam.request:policy",
    }
    response = call(world.client(caller), "post", "/api/v1/points/awards", body)
    assert problem(response) == answer
    assert _transactions(world) == before + (1 if answer == CREATED else 0)


# --- the books: adjustments, refunds, reversals ------------------------------------------------

ADJUST = [
    ("district", "owner", CREATED),
    ("district", "shop", CREATED),
    ("district_admin", "owner", CREATED),
    ("district_admin", "district_admin", SELF_APPROVAL),
    ("leader", "owner", NOT_FOR_RESIDENTS),
    ("owner", "owner", NOT_FOR_RESIDENTS),
    ("volunteer", "shop", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "account", "answer"), ADJUST)
def test_who_adjusts_which_account(world, caller, account, answer):
    before = _transactions(world)
    body = {"account_id": world.extra[account].pk, "amount": 5, "reason": "paper records"}
    response = call(world.client(caller), "post", "/api/v1/points/adjustments", body)
    assert problem(response) == answer
    assert _transactions(world) == before + (1 if answer == CREATED else 0)


REFUND = [
    ("district", "owner", CREATED),
    ("district_admin", "owner", CREATED),
    ("district_admin", "district_admin", SELF_APPROVAL),  # gives back to themself
    ("leader", "owner", NOT_FOR_RESIDENTS),
    ("owner", "owner", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "payer", "answer"), REFUND)
def test_who_refunds_whose_redemption(world, caller, payer, answer):
    before = _transactions(world)
    body = {"redemption_id": world.extra[f"{payer}_redemption"].pk, "amount": 5}
    response = call(world.client(caller), "post", "/api/v1/points/refunds", body)
    assert problem(response) == answer
    assert _transactions(world) == before + (1 if answer == CREATED else 0)


REVERSE = [
    ("district", "owner_award", CREATED),
    ("district", "owner_redemption", CREATED),
    ("district_admin", "owner_award", CREATED),
    ("district_admin", "district_admin_award", CREATED),  # takes from themself: no approval
    ("district_admin", "district_admin_redemption", SELF_APPROVAL),  # gives back to themself
    ("leader", "owner_award", NOT_FOR_RESIDENTS),
    ("owner", "owner_redemption", NOT_FOR_RESIDENTS),
]


@pytest.mark.parametrize(("caller", "what", "answer"), REVERSE)
def test_who_reverses_which_transaction(world, caller, what, answer):
    before = _transactions(world)
    path = f"/api/v1/points/transactions/{world.extra[what].pk}/reversal"
    response = call(world.client(caller), "post", path, {"reason": "entered twice"})
    assert problem(response) == answer
    assert _transactions(world) == before + (1 if answer == CREATED else 0)


# --- spending and giving: one's own points only ------------------------------------------------

SPEND = [
    ("district", "owner", CREATED),  # the shop's till names the payer
    ("owner", "owner", CREATED),
    ("spouse", "owner", NOT_YOURS),
    ("leader", "owner", NOT_YOURS),  # leading a building is not spending its points
    ("district_admin", "owner", NOT_YOURS),  # a person names only themself
    ("stranger", "owner", NOT_YOURS),
]


@pytest.mark.parametrize(("caller", "payer", "answer"), SPEND)
def test_who_spends_whose_points(world, caller, payer, answer):
    before = _transactions(world)
    body = {"resident_id": world.id(payer), "amount": 3, "to_account_id": world.extra["shop"].pk}
    response = call(world.client(caller), "post", "/api/v1/points/redemptions", body)
    assert problem(response) == answer
    assert _transactions(world) == before + (1 if answer == CREATED else 0)


@pytest.mark.parametrize(("caller", "giver", "answer"), SPEND)
def test_who_gives_whose_points(world, caller, giver, answer):
    before = _transactions(world)
    body = {
        "from_resident_id": world.id(giver),
        "to_resident_id": world.id("neighbour"),
        "amount": 3,
    }
    response = call(world.client(caller), "post", "/api/v1/points/transfers", body)
    assert problem(response) == answer
    assert _transactions(world) == before + (1 if answer == CREATED else 0)


def test_the_district_naming_no_such_resident_is_422_on_the_field(world):
    body = {"resident_id": 10**12, "amount": 3, "to_account_id": world.extra["shop"].pk}
    response = call(world.client("district"), "post", "/api/v1/points/redemptions", body)
    assert problem(response) == (422, "resident_not_found")
    assert [e["pointer"] for e in response.json()["errors"]] == ["/body/resident_id"]


# --- the resident pages: the same rule, one's own statement ------------------------------------

PAGES = [
    ("owner", "My points: 50", "owner-start"),  # 50, 10 earned, 10 spent
    ("spouse", "My points: 0", None),  # the household is not the account
    ("leader", "My points: 0", None),  # leading is not seeing on the pages
]


@pytest.mark.parametrize(("who", "heading", "memo"), PAGES)
def test_the_points_page_shows_each_person_their_own(world, who, heading, memo):
    page = signed_in(world.tenant, world.people[who]).get("/r/points")
    assert page.status_code == 200
    text = page.content.decode()
    assert heading in text
    assert ("owner-start" in text) is (memo is not None)

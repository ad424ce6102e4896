"""The help team's policy table: every kind of caller by every action on a request (in the
state the action needs) or an activity, with the exact status and problem code, through the
API and, where the resident pages offer the action, through the pages too (one table, two
channels). The world is drawn in ``world.py``.

Reading a row: a number is success; a pair is a refusal (status, code). Not visible is 404
with the same body as missing; visible but not allowed is 403 with a code; a state conflict
is 409, judged only once the caller is allowed (``claim`` on a claimed request: volunteers
of the estate get 409 ``already_claimed``, the others 403 or 404).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import pytest
from django_tenants.utils import tenant_context

from tests.tenants.helpteam.world import CALLERS, PEOPLE, World, build_world, post

API = "/api/v1/helpteam"
RNF = (404, "help_request_not_found")
ANF = (404, "activity_not_found")
NFR = (403, "not_for_residents")
OOS = (403, "out_of_scope")
NYS = (403, "not_yourself")
NRQ = (403, "not_requester")
NAV = (403, "not_a_volunteer")
NYC = (403, "not_your_claim")
OWN = (403, "own_service")
TAKEN = (409, "already_claimed")
LATER = (409, "window_not_started")
EFL = (403, "early_for_leaders")

Expected = int | tuple[int, str]


def row(**cells: Expected) -> dict[str, Expected]:
    assert set(cells) == set(CALLERS), set(CALLERS) ^ set(cells)
    return cells


def claimers_step(ok: Expected, *, claimer: Expected | None = None) -> dict[str, Expected]:
    """A volunteer's step on the claimed request (the district names the claimer)."""
    return row(
        district=ok, secretary=NYC, leader=NYC, volunteer_leader=NYC, other_leader=RNF,
        far_leader=RNF, requester=NYC, claimer=ok if claimer is None else claimer,
        volunteer=RNF, neighbour=RNF, outsider=RNF,
    )  # fmt: skip


def requesters_only(ok: int) -> dict[str, Expected]:
    return row(
        district=NRQ, secretary=NRQ, leader=NRQ, volunteer_leader=NRQ, other_leader=RNF,
        far_leader=RNF, requester=ok, claimer=NRQ, volunteer=RNF, neighbour=RNF, outsider=RNF,
    )  # fmt: skip


def leaders_of_the_place(ok: int, *, claimer: Expected = RNF) -> dict[str, Expected]:
    """A leader action on the claimed request: the district, E's secretary, B1's leader and
    U1's leader; B2's leader does not see it once claimed."""
    return row(
        district=ok, secretary=ok, leader=ok, volunteer_leader=ok, other_leader=RNF,
        far_leader=RNF, requester=NFR, claimer=claimer, volunteer=RNF, neighbour=RNF,
        outsider=RNF,
    )  # fmt: skip


class Action(NamedTuple):
    method: str
    path: str
    body: dict[str, Any] | None = None
    state: str = "open"  # of the request
    # the body field naming the person who acts, and whom the district names there
    named: tuple[str, str] | None = None


R = "/requests/{request}"
VOLUNTEER = ("volunteer_resident_id", "volunteer")
CLAIMER = ("volunteer_resident_id", "claimer")
HOURS = {"entries": [{"request_id": "{request}", "hours": 1}]}
ASK = {
    "requester_id": "{requester}",
    "category": "plumbing",
    "description": "漏水",
    "window_start": "{start}",
    "window_end": "{end}",
}
ORGANISE = {
    "title": "讀書會",
    "estate_id": "{estate}",
    "starts_at": "{start}",
    "ends_at": "{end}",
    "capacity": 5,
}
ACTIONS: dict[str, Action] = {
    "get.open": Action("get", R),
    "get.claimed": Action("get", R, state="claimed"),
    "ask.for_requester": Action("post", "/requests", ASK),
    "claim.open": Action("post", R + "/claim", {}, named=VOLUNTEER),
    "claim.claimed": Action("post", R + "/claim", {}, "claimed", VOLUNTEER),
    "start": Action("post", R + "/start", {}, "claimed", CLAIMER),
    "done": Action("post", R + "/done", {}, "claimed", CLAIMER),
    "done.before_window": Action("post", R + "/done", {}, "claimed_later", CLAIMER),
    "done.early": Action(
        "post", R + "/done", {"early_reason": "asked to come today"}, "claimed_later", CLAIMER
    ),
    "check_in": Action("post", R + "/check-in", {"token": "{token}"}, "claimed", CLAIMER),
    "confirm.done": Action("post", R + "/confirm", {"hours": 1}, "done"),
    "confirm.own_service": Action("post", R + "/confirm", {"hours": 1}, "done_by_leader"),
    "cancel": Action("post", R + "/cancel", {}, "claimed"),
    "feedback": Action("post", R + "/feedback", {"rating": 5}, "confirmed"),
    "dispute": Action("post", R + "/dispute", {"reason": "nobody came"}, "auto"),
    "dispute.resolve": Action("post", R + "/dispute/resolve", {"upheld": True}, "disputed"),
    "suggestions": Action("get", R + "/suggestions"),
    "hours": Action("post", "/hours", HOURS, "claimed"),
    "hours.own_service": Action("post", "/hours", HOURS, "done_by_leader"),
    "dashboard": Action("get", "/dashboard"),
    "certificate": Action("get", "/volunteers/{claimer}/certificate.pdf"),
    "activity.signup": Action(
        "post", "/activities/{activity}/signups", {}, named=("resident_id", "neighbour")
    ),
    "activity.attendance": Action(
        "post", "/activities/{activity}/attendance", {"resident_ids": ["{volunteer}"]}
    ),
    "activity.create": Action("post", "/activities", ORGANISE),
}

TABLE: dict[str, dict[str, Expected]] = {
    # who sees the request: while open every resident of E; once claimed only the requester,
    # the claimer and the leaders of its place
    "get.open": row(
        district=200, secretary=200, leader=200, volunteer_leader=200, other_leader=200,
        far_leader=RNF, requester=200, claimer=200, volunteer=200, neighbour=200, outsider=RNF,
    ),
    "get.claimed": row(
        district=200, secretary=200, leader=200, volunteer_leader=200, other_leader=RNF,
        far_leader=RNF, requester=200, claimer=200, volunteer=RNF, neighbour=RNF, outsider=RNF,
    ),
    # asking for a neighbour: leaders of the neighbour's place (and the requester themself)
    "ask.for_requester": row(
        district=201, secretary=201, leader=201, volunteer_leader=201, other_leader=OOS,
        far_leader=OOS, requester=201, claimer=NYS, volunteer=NYS, neighbour=NYS, outsider=NYS,
    ),
    # volunteers claim; once claimed, every volunteer of the estate gets 409
    "claim.open": row(
        district=200, secretary=NAV, leader=NAV, volunteer_leader=200, other_leader=NAV,
        far_leader=RNF, requester=NAV, claimer=200, volunteer=200, neighbour=NAV, outsider=RNF,
    ),
    "claim.claimed": row(
        district=TAKEN, secretary=NAV, leader=NAV, volunteer_leader=TAKEN, other_leader=RNF,
        far_leader=RNF, requester=NAV, claimer=TAKEN, volunteer=TAKEN, neighbour=RNF,
        outsider=RNF,
    ),
    "start": claimers_step(200),
    "done": claimers_step(200),
    # not before the window opens; early with a reason only for a leader of the place (the
    # district's tool, naming the claimer; the claimer leads nothing here)
    "done.before_window": claimers_step(LATER),
    "done.early": claimers_step(200, claimer=EFL),
    "check_in": claimers_step(200),
    # confirmation: the requester, a leader of the place, the district; never the volunteer
    "confirm.done": row(
        district=200, secretary=200, leader=200, volunteer_leader=200, other_leader=RNF,
        far_leader=RNF, requester=200, claimer=OWN, volunteer=RNF, neighbour=RNF, outsider=RNF,
    ),
    "confirm.own_service": row(
        district=200, secretary=200, leader=200, volunteer_leader=OWN, other_leader=RNF,
        far_leader=RNF, requester=200, claimer=RNF, volunteer=RNF, neighbour=RNF, outsider=RNF,
    ),
    "cancel": row(
        district=200, secretary=200, leader=200, volunteer_leader=200, other_leader=RNF,
        far_leader=RNF, requester=200, claimer=NRQ, volunteer=RNF, neighbour=RNF, outsider=RNF,
    ),
    "feedback": requesters_only(200),
    "dispute": requesters_only(200),
    "dispute.resolve": leaders_of_the_place(200, claimer=OWN),
    "suggestions": row(
        district=200, secretary=200, leader=200, volunteer_leader=200, other_leader=OOS,
        far_leader=RNF, requester=NFR, claimer=NFR, volunteer=NFR, neighbour=NFR, outsider=RNF,
    ),
    "hours": leaders_of_the_place(200, claimer=OWN),
    "hours.own_service": row(
        district=200, secretary=200, leader=200, volunteer_leader=OWN, other_leader=RNF,
        far_leader=RNF, requester=NFR, claimer=RNF, volunteer=RNF, neighbour=RNF, outsider=RNF,
    ),
    "dashboard": row(
        district=200, secretary=200, leader=200, volunteer_leader=200, other_leader=200,
        far_leader=200, requester=NFR, claimer=NFR, volunteer=NFR, neighbour=NFR, outsider=NFR,
    ),
    # a certificate: the volunteer (the claimer, at home in B2), the leaders of their home
    "certificate": row(
        district=200, secretary=200, leader=NYS, volunteer_leader=NYS, other_leader=200,
        far_leader=NYS, requester=NYS, claimer=200, volunteer=NYS, neighbour=NYS, outsider=NYS,
    ),
    # activities of E: residents of E sign up; its leaders (the estate's) take attendance
    "activity.signup": row(
        district=201, secretary=201, leader=201, volunteer_leader=201, other_leader=201,
        far_leader=ANF, requester=201, claimer=201, volunteer=201, neighbour=201, outsider=ANF,
    ),
    "activity.attendance": row(
        district=200, secretary=200, leader=OOS, volunteer_leader=OOS, other_leader=OOS,
        far_leader=ANF, requester=NFR, claimer=NFR, volunteer=NFR, neighbour=NFR, outsider=ANF,
    ),
    "activity.create": row(
        district=201, secretary=201, leader=OOS, volunteer_leader=OOS, other_leader=OOS,
        far_leader=OOS, requester=NFR, claimer=NFR, volunteer=NFR, neighbour=NFR, outsider=NFR,
    ),
}  # fmt: skip

CASES = [(action, caller) for action in ACTIONS for caller in CALLERS]


def _fill(value: Any, world: World) -> Any:
    """``"{name}"`` → the world's id (or value) of that name."""
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world) for v in value]
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole:
            return world.values[whole.group(1)]
        return re.sub(r"\{(\w+)\}", lambda m: str(world.values[m.group(1)]), value)
    return value


def _answer(response: Any) -> Expected:
    if response.status_code < 300:
        return response.status_code
    return (response.status_code, response.json()["code"])


@pytest.fixture
def world_in(tenant, make_key):
    def build(state: str) -> World:
        with tenant_context(tenant):
            return build_world(tenant, make_key, state)

    return build


@pytest.mark.parametrize(("action", "caller"), CASES, ids=[f"{a}-{c}" for a, c in CASES])
def test_the_api_answers_by_the_table(world_in, action, caller):
    method, path, body, state, named = ACTIONS[action]
    world = world_in(state)
    client = world.api(caller)
    url = API + _fill(path, world)
    if method == "get":
        response = client.get(url)
    else:
        payload = dict(_fill(body or {}, world))
        if named is not None and caller == "district":
            field, person = named
            payload[field] = world.ids[person]
        response = post(client, url, payload)
    assert _answer(response) == TABLE[action][caller], response.content[:300]


# The resident pages offer: seeing a request, claiming it, marking it done, confirming and
# cancelling it, and signing up for an activity. Success is a redirect (302) for an action.
PAGE_ACTIONS = {
    "get.open": None,
    "get.claimed": None,
    "claim.open": "claim",
    "claim.claimed": "claim",
    "done": "done",
    "done.before_window": "done",
    "confirm.done": "confirm",
    "confirm.own_service": "confirm",
    "cancel": "cancel",
}
PAGE_CASES = [
    (action, caller) for action in [*PAGE_ACTIONS, "activity.signup"] for caller in PEOPLE
]


def _page_answer(response: Any, *, ok_status: int, ok: int) -> Expected:
    """A page's answer in the table's terms: ``ok`` when it did it (``ok_status``: a redirect
    after an action, the page itself otherwise), else its status and problem code."""
    found = re.search(r'data-problem-code="([a-z_]+)"', response.content.decode())
    if found:
        return (response.status_code, found.group(1))
    return ok if response.status_code == ok_status else response.status_code


@pytest.mark.parametrize(("action", "caller"), PAGE_CASES, ids=[f"{a}-{c}" for a, c in PAGE_CASES])
def test_the_pages_answer_by_the_same_table(world_in, action, caller):
    world = world_in(ACTIONS[action].state)
    client = world.page(caller)
    expected = TABLE[action][caller]
    if action == "activity.signup":
        response = client.post("/r/activities", {"activity": world.activity.pk})
        answer = _page_answer(response, ok_status=200, ok=201)
    else:
        step, url = PAGE_ACTIONS[action], f"/r/help/{world.request.pk}"
        if step is None:
            response = client.get(url)
        else:
            response = client.post(url, {"action": step, "hours": "1"})
        answer = _page_answer(response, ok_status=302 if step else 200, ok=200)
        if expected == RNF:
            expected = 404  # the pages' own "not here" page, as for a request that is not
    assert answer == expected, response.content[:400]


# Operations judged by the same check as a row of the table, and the lists and public
# recognition, whose rows are filtered by who calls (test_lists_show_what_the_caller_sees).
SAME_AS = {
    ("post", "/requests/{x}/check-out"): "check_in",
    ("post", "/requests/{x}/evidence"): "check_in",
    ("post", "/activities/{x}/signups/cancel"): "activity.signup",
    ("post", "/activities/{x}/check-in"): "activity.signup",
}
LISTS_AND_PUBLIC = {
    ("get", "/requests"),
    ("get", "/activities"),
    ("get", "/leaderboard"),
    ("get", "/volunteers/{x}/recognition"),
    ("get", "/categories"),
}


def _shape(method: str, path: str) -> tuple[str, str]:
    return (method, re.sub(r"\{\w+\}", "{x}", path))


def test_the_table_covers_every_operation_of_the_module():
    import json

    from api import contract

    document = json.loads(contract.render("api"))
    operations = {
        _shape(method, path.removeprefix(API))
        for path, item in document["paths"].items()
        if path.startswith(API + "/")
        for method in item
    }
    tabled = {_shape(a.method, a.path) for a in ACTIONS.values()}
    assert operations - tabled - set(SAME_AS) - LISTS_AND_PUBLIC == set()


@pytest.mark.parametrize("caller", CALLERS)
def test_lists_show_what_the_caller_sees(world_in, caller):
    """The lists hold exactly what the lookups find: the claimed request for those who may
    see it (``get.claimed``), the activity for those who may sign up (``activity.signup``)."""
    world = world_in("claimed")
    client = world.api(caller)
    requests = [r["id"] for r in client.get(API + "/requests").json()["items"]]
    activities = [a["id"] for a in client.get(API + "/activities").json()["items"]]
    assert requests == ([world.request.pk] if TABLE["get.claimed"][caller] == 200 else [])
    assert activities == ([world.activity.pk] if TABLE["activity.signup"][caller] == 201 else [])


# --- the rules behind single cells, each with the case the table's world has no room for ----


def _as(world: World, caller: str) -> Any:
    return world.api(caller)


def test_a_volunteer_never_claims_their_own_request(tenant, world_in):
    from tenants.helpteam.services import request_create

    world = world_in("open")
    with tenant_context(tenant):
        own = request_create(
            requester_id=world.ids["volunteer"],
            category="plumbing",
            description="d",
            window_start=world.request.window_start,
            window_end=world.request.window_end,
        )
    answer = post(_as(world, "volunteer"), f"{API}/requests/{own.pk}/claim")
    assert _answer(answer) == (403, "own_request")
    named = post(_as(world, "district"), f"{API}/requests/{own.pk}/claim", {
        "volunteer_resident_id": world.ids["volunteer"]
    })  # fmt: skip
    assert _answer(named) == (403, "own_request")  # whoever names them


def test_naming_someone_else_is_for_the_districts_tool_only(world_in):
    world = world_in("open")
    claim = f"{API}/requests/{world.request.pk}/claim"
    other = {"volunteer_resident_id": world.ids["claimer"]}
    assert _answer(post(_as(world, "volunteer"), claim, other)) == NYS
    assert _answer(post(_as(world, "secretary"), claim, other)) == NYS  # leading is not naming
    tool = _as(world, "district")
    assert _answer(post(tool, claim)) == (422, "resident_required")
    missing = {"volunteer_resident_id": 10**12}
    assert _answer(post(tool, claim, missing)) == (422, "resident_not_found")
    not_a_volunteer = {"volunteer_resident_id": world.ids["neighbour"]}
    assert _answer(post(tool, claim, not_a_volunteer)) == NAV
    # the district may send a volunteer of another estate (matching suggests them too)
    far = {"volunteer_resident_id": world.ids["outsider"]}
    assert _answer(post(tool, claim, far)) == 200


def test_a_cancelled_request_is_not_open_to_the_estates_volunteers(world_in):
    world = world_in("open")
    assert (
        _answer(post(_as(world, "requester"), f"{API}/requests/{world.request.pk}/cancel")) == 200
    )
    late = post(_as(world, "volunteer"), f"{API}/requests/{world.request.pk}/claim")
    assert _answer(late) == (409, "not_open")
    assert _answer(_as(world, "volunteer").get(f"{API}/requests/{world.request.pk}")) == RNF


def test_a_leader_who_disputed_does_not_resolve_their_own_dispute(tenant, world_in):
    from tenants.community.roles import role_assign

    world = world_in("disputed")
    with tenant_context(tenant):  # the requester also leads their own unit
        unit_id = world.people["requester"].household.unit_id
        role_assign(
            resident_id=world.ids["requester"], role="unit_leader", scope="unit", place_id=unit_id
        )
    resolve = f"{API}/requests/{world.request.pk}/dispute/resolve"
    assert _answer(post(_as(world, "requester"), resolve, {"upheld": True})) == (
        403,
        "own_dispute",
    )
    assert _answer(post(_as(world, "leader"), resolve, {"upheld": True})) == 200


def test_a_leader_does_not_take_their_own_attendance(world_in):
    world = world_in("open")
    secretary = _as(world, "secretary")
    activity = f"{API}/activities/{world.activity.pk}"
    assert _answer(post(secretary, activity + "/signups")) == 201
    own = {"resident_ids": [world.ids["secretary"], world.ids["volunteer"]]}
    assert _answer(post(secretary, activity + "/attendance", own)) == OWN
    assert _answer(post(_as(world, "district"), activity + "/attendance", own)) == 200


def test_a_central_household_asks_for_the_neighbours_of_its_unit(tenant, world_in):
    from tenants.community.roles import role_assign

    world = world_in("open")
    with tenant_context(tenant):
        unit_id = world.people["neighbour"].household.unit_id
        role_assign(
            resident_id=world.ids["neighbour"],
            role="central_household",
            scope="unit",
            place_id=unit_id,
        )
    body = _fill(ACTIONS["ask.for_requester"].body, world)
    asked = post(_as(world, "neighbour"), f"{API}/requests", body)
    assert _answer(asked) == 201
    assert (asked.json()["requester_id"], asked.json()["raised_by_id"]) == (
        world.ids["requester"],
        world.ids["neighbour"],
    )
    # but not at someone else's home, which is for the leaders of that home
    elsewhere = {**body, "household_id": world.people["outsider"].household_id}
    assert _answer(post(_as(world, "neighbour"), f"{API}/requests", elsewhere)) == NFR
    mine = {**body, "requester_id": None, "household_id": world.people["volunteer"].household_id}
    assert _answer(post(_as(world, "secretary"), f"{API}/requests", mine)) == 201


def test_a_volunteer_who_leads_the_place_records_their_work_early_with_a_reason(tenant, world_in):
    """The cell ``done.early`` has no room for: the claimer who leads the request's unit."""
    from tenants.helpteam.services import request_claim

    world = world_in("open_later")
    with tenant_context(tenant):
        request_claim(
            request_id=world.request.pk, volunteer_resident_id=world.ids["volunteer_leader"]
        )
    done = f"{API}/requests/{world.request.pk}/done"
    leader = _as(world, "volunteer_leader")
    assert _answer(post(leader, done)) == LATER
    assert _answer(post(leader, done, {"early_reason": " "})) == (422, "reason_required")
    recorded = post(leader, done, {"early_reason": "asked to come today"})
    assert _answer(recorded) == 200
    assert recorded.json()["done_early_reason"] == "asked to come today"

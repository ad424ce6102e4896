"""The demo city's councils: every decision reaches its meeting's quorum, or its convener
recorded it as decided without quorum and said why; votes add up to those present."""

from __future__ import annotations

from django.db.models import Count, Q
from django_tenants.utils import tenant_context

from linli.registry.demo import demo_build
from tenants.audit.models import AuditEntry
from tenants.community.models import Household, RoleAssignment
from tenants.deliberation.council import quorum
from tenants.deliberation.models import AgendaItem


def test_the_demos_decisions_have_their_quorum_or_say_they_had_none(db):
    tenant, counts = demo_build(scale="small", slug="demo_quorum")
    with tenant_context(tenant):
        items = list(
            AgendaItem.objects.filter(decided=True)
            .select_related("meeting")
            .annotate(
                f=Count("votes", filter=Q(votes__choice="for")),
                a=Count("votes", filter=Q(votes__choice="against")),
                s=Count("votes", filter=Q(votes__choice="abstain")),
            )
        )
        assert len(items) == counts["decisions"] == 3
        flagged = [item for item in items if item.decided_without_quorum]
        assert 0 < len(flagged) < len(items) / 2  # a minority, and shown
        for item in items:
            meeting = item.meeting
            counted = quorum(meeting=meeting)
            invited = Household.objects.filter(unit__building__estate_id=meeting.estate_id)
            assert counted.invited == invited.count() > 0
            assert counted.reached != item.decided_without_quorum, item.pk
            assert (item.without_quorum_reason != "") == item.decided_without_quorum
            # one vote per household present: the votes add up to the attendance
            assert item.f + item.a + item.s == counted.present
            assert item.outcome == ("通过" if item.f > item.a else "未通过")
            # convened by the estate's secretary, who answers for a decision without quorum
            assert RoleAssignment.objects.filter(
                resident_id=meeting.convener_id,
                role="estate_secretary",
                estate_id=meeting.estate_id,
            ).exists()
            [entry] = AuditEntry.objects.filter(
                object_type="deliberation.agendaitem", object_id=str(item.pk)
            )
            assert entry.action == (
                "meeting.decided_without_quorum"
                if item.decided_without_quorum
                else "meeting.decided"
            )
            assert entry.changes["votes"] == [None, [item.f, item.a, item.s]]
            assert entry.changes["quorum"] == [
                None,
                [counted.invited, counted.present, counted.required],
            ]

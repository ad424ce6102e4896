"""Help requests from raising to confirmation, and activities with sign-ups and attendance.

Transitions lock the request's row, so two volunteers racing to claim get one
winner and a 409, and two confirmations award points once: the second finds
the request confirmed, and the ledger's own once-per-source rule backs it up.

Who may do each step is decided in ``tenants.helpteam.access``; the services run those
checks under the row's lock, before the state's own (409) checks. A volunteer's steps take
the volunteer (a person: the caller themself, or the one the district's tool names, judged
as if they acted themself); the steps that need standing take the caller's ``Actor``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from linli import clock
from linli.errors import Conflict, NotFound, ValidationFailed
from linli.notify import Notice, notify
from linli.storage import stored_file_delete_on_commit
from linli.uploads import MAX_PHOTO_BYTES, photo_extension, photo_name
from tenants.audit.services import audit_record
from tenants.community.actor import Actor
from tenants.community.models import Household, Resident
from tenants.helpteam import access
from tenants.helpteam.events import help_request_event, signup_event
from tenants.helpteam.models import Activity, HelpRequest, Signup, Volunteer
from tenants.helpteam.settings import HelpteamSettings

Status = HelpRequest.Status
ALREADY_CLAIMED = gettext_noop("This request has already been claimed.")
NOT_OPEN = gettext_noop("This request is no longer open.")
ALREADY_RATED = gettext_noop("Feedback on this request was already given.")
ALREADY_CONFIRMED = gettext_noop("This request was already confirmed with %(hours)s hours.")
MAX_WINDOW = timedelta(days=14)
HUNDREDTHS = Decimal("0.01")
# A request someone holds (or held): claiming it again is "already claimed".
TAKEN = {Status.CLAIMED, Status.IN_PROGRESS, Status.DONE, Status.CONFIRMED}


def _request_for_update(request_id: int) -> HelpRequest:
    help_request = HelpRequest.objects.select_for_update().filter(pk=request_id).first()
    if help_request is None:
        raise access.help_request_not_found(request_id)
    return help_request


def _volunteer_in_person(volunteer_resident_id: int) -> Actor:
    """The volunteer doing a step, as if they acted themself (the rules are theirs)."""
    volunteer = access.person(volunteer_resident_id)
    if volunteer is None:
        raise access.refusal(access.NOT_A_VOLUNTEER)
    return volunteer


def _resident(resident_id: int, *, field: str) -> Resident:
    resident = Resident.objects.filter(
        pk=resident_id, erased_at__isnull=True, status=Resident.Status.ACTIVE
    ).first()
    if resident is None:
        raise ValidationFailed(
            _("No active resident %(id)s.") % {"id": resident_id},
            code="resident_not_found",
            field=field,
        )
    return resident


def _active_volunteer(resident_id: int) -> Volunteer:
    volunteer = Volunteer.objects.select_related("resident").get(resident_id=resident_id)
    if volunteer.status != Volunteer.Status.ACTIVE:
        raise Conflict(_("This volunteer is paused."), code="volunteer_paused")
    return volunteer


def _move(help_request: HelpRequest, allowed: set[str], to: str) -> None:
    if help_request.status not in allowed:
        raise Conflict(
            _("A %(status)s request cannot become %(to)s.")
            % {"status": help_request.get_status_display(), "to": Status(to).label},
            code="transition_not_allowed",
        )
    help_request.status = to


def _suggest_soon(help_request: HelpRequest) -> None:
    """Tell the best volunteers by a job queued in this transaction: ranking every volunteer
    is the costliest part of asking, and the answer to the asker does not wait for it."""
    from django.db import connection

    from tenants.helpteam.tasks import help_request_suggest

    tenant = getattr(connection, "tenant", None)
    if tenant is not None and tenant.schema_name != "public":
        help_request_suggest.defer(tenant=tenant, help_request_id=help_request.pk)


@transaction.atomic
def request_suggest(*, request_id: int, limit: int = 5) -> int:
    """The job after a request is asked: the ``limit`` best volunteers are told, once (the
    request records when), and only while it is still open. Returns how many were told."""
    from tenants.helpteam.matching import suggestions
    from tenants.helpteam.models import Skill
    from tenants.helpteam.selectors import help_categories

    help_request = (
        HelpRequest.objects.select_for_update(of=("self",))
        .select_related("household__unit__building")
        .filter(pk=request_id)
        .first()
    )
    if help_request is None or help_request.suggested_at is not None:
        return 0
    help_request.suggested_at = timezone.now()
    help_request.save(update_fields=["suggested_at"])
    if help_request.status != Status.OPEN:
        return 0
    labels = help_categories(Skill.objects.filter(code=help_request.category))
    category = labels[0].label if labels else help_request.category
    best = suggestions(help_request=help_request, limit=limit)
    notify(
        [
            Notice(
                resident_id=s.volunteer.resident_id,
                kind="help_request.suggested",
                subject=_("A neighbour needs help: %(category)s") % {"category": category},
                body=help_request.description[:200],
                data={"help_request": str(help_request.pk)},
            )
            for s in best
        ]
    )
    return len(best)


@transaction.atomic
def request_create(
    *,
    requester_id: int,
    category: str,
    description: str,
    window_start: datetime,
    window_end: datetime,
    household_id: int | None = None,
    place: str = "",
    urgency: str = HelpRequest.Urgency.NORMAL,
    raised_by_id: int | None = None,
) -> HelpRequest:
    """A resident asks for help (or a leader asks for a resident who cannot)."""
    requester = _resident(requester_id, field="requester_id")
    raised_by = _resident(raised_by_id, field="raised_by_id") if raised_by_id else None
    category = (category or "").strip()
    description = (description or "").strip()
    if not category:
        raise ValidationFailed(
            _("Choose what kind of help."), code="category_required", field="category"
        )
    if not description:
        raise ValidationFailed(
            _("Say what help is needed."), code="description_required", field="description"
        )
    if window_end <= window_start:
        raise ValidationFailed(
            _("The window must end after it starts."), code="window_invalid", field="window_end"
        )
    if window_end <= timezone.now():
        raise ValidationFailed(
            _("The window is already over."), code="window_past", field="window_end"
        )
    if window_end - window_start > MAX_WINDOW:
        raise ValidationFailed(
            _("A request's window is at most 14 days."), code="window_too_long", field="window_end"
        )
    if urgency not in HelpRequest.Urgency.values:
        raise ValidationFailed(_("Unknown urgency."), code="urgency_invalid", field="urgency")
    household = None
    if household_id is not None:
        household = Household.objects.filter(pk=household_id).first()
        if household is None:
            raise ValidationFailed(
                _("No household %(id)s.") % {"id": household_id},
                code="household_not_found",
                field="household_id",
            )
    help_request = HelpRequest.objects.create(
        requester=requester,
        raised_by=raised_by,
        category=category,
        description=description,
        window_start=window_start,
        window_end=window_end,
        household=household or requester.household,
        place=place.strip(),
        urgency=urgency,
    )
    audit_record(action="help_request.created", obj=help_request)
    help_request_event("created", help_request)
    _suggest_soon(help_request)
    return help_request


@transaction.atomic
def request_claim(*, request_id: int, volunteer_resident_id: int) -> HelpRequest:
    """One volunteer wins; the others get 409 ``already_claimed``."""
    doer = _volunteer_in_person(volunteer_resident_id)
    help_request = _request_for_update(request_id)
    access.may_claim(doer, help_request)
    volunteer = _active_volunteer(volunteer_resident_id)
    if help_request.status != Status.OPEN:
        taken = help_request.status in TAKEN
        raise Conflict(
            _(ALREADY_CLAIMED) if taken else _(NOT_OPEN),
            code="already_claimed" if taken else "not_open",
        )
    help_request.status, help_request.claimed_by = Status.CLAIMED, volunteer
    help_request.claimed_at = timezone.now()
    help_request.save(update_fields=["status", "claimed_by", "claimed_at", "updated_at"])
    audit_record(action="help_request.claimed", obj=help_request)
    help_request_event("claimed", help_request)
    notify(
        [
            Notice(
                resident_id=help_request.requester_id,
                kind="help_request.claimed",
                subject=_("A neighbour will help you"),
                body=str(volunteer.resident),
            )
        ]
    )
    return help_request


def _by_claimer(help_request: HelpRequest, volunteer_resident_id: int) -> None:
    access.may_work_on(_volunteer_in_person(volunteer_resident_id), help_request)


@transaction.atomic
def request_start(*, request_id: int, volunteer_resident_id: int) -> HelpRequest:
    help_request = _request_for_update(request_id)
    _by_claimer(help_request, volunteer_resident_id)
    _move(help_request, {Status.CLAIMED}, Status.IN_PROGRESS)
    help_request.started_at = timezone.now()
    help_request.save(update_fields=["status", "started_at", "updated_at"])
    audit_record(action="help_request.started", obj=help_request)
    return help_request


def _window_started(help_request: HelpRequest, now: datetime, *, field: str = "") -> None:
    """Help is done no earlier than its window opens (409 ``window_not_started``)."""
    if now < help_request.window_start:
        raise Conflict(
            _("This help is booked for later; it cannot be done before its time."),
            code="window_not_started",
            field=field or None,
        )


@transaction.atomic
def request_done(
    *,
    request_id: int,
    volunteer_resident_id: int,
    actor: Actor | None = None,
    early_reason: str | None = None,
) -> HelpRequest:
    """The volunteer who claimed it did the work, no earlier than its window opens (409
    ``window_not_started``, nothing changed).

    Before then a leader of the request's place (``actor``: the caller, when it is not the
    volunteer in person; the district's tool leads every place) may record it done with an
    ``early_reason``, which the request keeps (``done_early_reason``) and the audit log
    records. A caller who leads no such place cannot give one (403 ``early_for_leaders``);
    a blank one is 422 ``reason_required``. Once the window has opened the reason is not
    needed and not kept: the help was not recorded early."""
    help_request = _request_for_update(request_id)
    _by_claimer(help_request, volunteer_resident_id)
    if early_reason is not None:
        access.may_record_early(actor or _volunteer_in_person(volunteer_resident_id), help_request)
    _move(help_request, {Status.CLAIMED, Status.IN_PROGRESS}, Status.DONE)
    now = timezone.now()
    reason = ""
    if now < help_request.window_start:
        if early_reason is None:
            _window_started(help_request, now)
        reason = (early_reason or "").strip()[:255]
        if not reason:
            raise ValidationFailed(
                _("Say why it is recorded as done before its time."),
                code="reason_required",
                field="early_reason",
            )
    help_request.done_at, help_request.done_early_reason = now, reason
    help_request.save(update_fields=["status", "done_at", "done_early_reason", "updated_at"])
    audit_record(action="help_request.done", obj=help_request)
    if reason:
        audit_record(
            action="help_request.done_early",
            obj=help_request,
            changes={
                "done_early_reason": [None, reason],
                "window_start": [None, help_request.window_start.isoformat()],
            },
        )
    help_request_event("done", help_request)
    notify(
        [
            Notice(
                resident_id=help_request.requester_id,
                kind="help_request.done",
                subject=_("Your request is done; please confirm"),
                body="",
            )
        ]
    )
    return help_request


@transaction.atomic
def request_confirm(
    *,
    request_id: int,
    hours: Decimal,
    actor: Actor | None = None,
    by_resident_id: int | None = None,
    as_leader: bool = False,
) -> HelpRequest:
    """The requester, a leader of the place or the district's tool confirms (never the
    volunteer who did it); the volunteer earns points, exactly once.

    Older callers name the confirming resident (``by_resident_id``), who is then judged by
    their own roles whatever ``as_leader`` says; naming nobody with ``as_leader`` is the
    district's tool."""
    if actor is None:
        actor = _confirming(by_resident_id=by_resident_id, as_leader=as_leader)
    help_request = _request_for_update(request_id)
    access.may_confirm(actor, help_request)
    hours = Decimal(hours).quantize(HUNDREDTHS)  # as stored, so every answer reads the same
    if help_request.status == Status.CONFIRMED:
        if help_request.hours is not None and hours == help_request.hours:
            return help_request  # the same confirmation again changes nothing
        raise Conflict(
            _(ALREADY_CONFIRMED) % {"hours": help_request.hours}, code="already_confirmed"
        )
    if help_request.status != Status.DONE:
        raise Conflict(_("Only a request marked done can be confirmed."), code="not_done")
    window_hours = (
        Decimal((help_request.window_end - help_request.window_start).total_seconds()) / 3600
    )
    if hours <= 0 or hours > 24 or hours > window_hours:
        raise ValidationFailed(
            _("Hours must be above 0, at most 24 and within the request's window."),
            code="hours_invalid",
            field="hours",
        )
    help_request.status = Status.CONFIRMED
    help_request.hours = hours
    help_request.confirmed_at = timezone.now()
    help_request.confirmed_by_id = actor.resident_id
    help_request.points_transaction_id = _award(help_request)
    help_request.save(
        update_fields=[
            "status",
            "hours",
            "confirmed_at",
            "confirmed_by",
            "points_transaction_id",
            "updated_at",
        ]
    )
    audit_record(
        action="help_request.confirmed", obj=help_request, changes={"hours": [None, str(hours)]}
    )
    help_request_event("confirmed", help_request)
    return help_request


def _confirming(*, by_resident_id: int | None, as_leader: bool) -> Actor:
    if by_resident_id is None:
        if as_leader:
            return access.the_district()
        raise access.refusal(access.NOT_REQUESTER)
    confirming = access.person(by_resident_id)
    if confirming is None:
        raise access.refusal(access.NOT_REQUESTER)
    return confirming


def _points_enabled() -> bool:
    from django.db import connection

    tenant = getattr(connection, "tenant", None)
    return "points" in getattr(tenant, "enabled_modules", frozenset())


def _award(help_request: HelpRequest) -> int | None:
    """Points for confirmed service, through the points module (if the tenant runs it)."""
    if not _points_enabled() or help_request.claimed_by is None:
        return None
    from tenants.points.services import points_award

    try:
        with transaction.atomic():
            tx = points_award(
                resident_id=help_request.claimed_by.resident_id,
                category=help_request.category,
                hours=float(help_request.hours or 0),
                source=f"helpteam.request:{help_request.pk}",
                idempotency_key=f"helpteam.request:{help_request.pk}:confirm",
                memo=help_request.category,
                served_on=clock.day_of(help_request.window_start),  # caps count by that day
            )
    except Conflict as exc:
        if exc.code == "cap_reached":  # service is confirmed; the cap allows no more points
            return None
        raise
    return tx.pk


@transaction.atomic
def request_cancel(*, request_id: int, actor: Actor, reason: str = "") -> HelpRequest:
    help_request = _request_for_update(request_id)
    access.may_cancel(actor, help_request)
    _move(help_request, {Status.OPEN, Status.CLAIMED, Status.IN_PROGRESS}, Status.CANCELLED)
    help_request.closed_reason = reason[:255]
    help_request.save(update_fields=["status", "closed_reason", "updated_at"])
    audit_record(action="help_request.cancelled", obj=help_request)
    help_request_event("cancelled", help_request)
    return help_request


@transaction.atomic
def request_feedback(
    *, request_id: int, actor: Actor, rating: int, comment: str = ""
) -> HelpRequest:
    help_request = _request_for_update(request_id)
    access.may_give_feedback(actor, help_request)
    if help_request.status != Status.CONFIRMED:
        raise Conflict(_("Feedback comes after confirmation."), code="not_confirmed")
    if not 1 <= rating <= 5:
        raise ValidationFailed(_("A rating is 1 to 5."), code="rating_invalid", field="rating")
    if help_request.rating is not None:  # feedback is given once; the same again is no change
        if (help_request.rating, help_request.feedback) == (rating, comment[:2000]):
            return help_request
        raise Conflict(_(ALREADY_RATED), code="already_rated")
    help_request.rating, help_request.feedback = rating, comment[:2000]
    help_request.save(update_fields=["rating", "feedback", "updated_at"])
    return help_request


@transaction.atomic
def requests_expire(*, now: datetime | None = None) -> int:
    """Open or claimed requests past their window expire. Safe to run again."""
    now = now or timezone.now()
    expired = list(
        HelpRequest.objects.select_for_update(skip_locked=True).filter(
            status__in=[Status.OPEN, Status.CLAIMED], window_end__lt=now
        )
    )
    for help_request in expired:
        help_request.status = Status.EXPIRED
        help_request.closed_reason = "window passed"
        help_request.save(update_fields=["status", "closed_reason", "updated_at"])
        audit_record(action="help_request.expired", obj=help_request)
    return len(expired)


# --- activities --------------------------------------------------------------------------


def _activity_for_update(activity_id: int) -> Activity:
    activity = Activity.objects.select_for_update().filter(pk=activity_id).first()
    if activity is None:
        raise NotFound(_("No activity %(id)s.") % {"id": activity_id}, code="activity_not_found")
    return activity


@transaction.atomic
def activity_signup(*, activity_id: int, resident_id: int) -> Signup:
    """A place if there is one; otherwise a place on the waitlist."""
    activity = _activity_for_update(activity_id)
    resident = _resident(resident_id, field="resident_id")
    if activity.cancelled or activity.ends_at <= timezone.now():
        raise Conflict(_("This activity is not taking sign-ups."), code="activity_closed")
    existing = Signup.objects.filter(activity=activity, resident=resident).first()
    if existing is not None and existing.status != Signup.Status.CANCELLED:
        return existing
    taken = Signup.objects.filter(activity=activity, status=Signup.Status.CONFIRMED).count()
    status = Signup.Status.CONFIRMED if taken < activity.capacity else Signup.Status.WAITLISTED
    if existing is not None:
        existing.status = status
        existing.save(update_fields=["status"])
        signup = existing
    else:
        signup = Signup.objects.create(activity=activity, resident=resident, status=status)
    audit_record(action=f"activity.signup.{status}", obj=signup)
    signup_event(signup)
    return signup


@transaction.atomic
def activity_signup_cancel(*, activity_id: int, resident_id: int) -> Signup:
    """Leave an activity; the first on the waitlist takes a freed place."""
    activity = _activity_for_update(activity_id)
    signup = Signup.objects.filter(activity=activity, resident_id=resident_id).first()
    if signup is None or signup.status == Signup.Status.CANCELLED:
        raise NotFound(_("No sign-up to cancel."), code="signup_not_found")
    freed = signup.status == Signup.Status.CONFIRMED
    signup.status = Signup.Status.CANCELLED
    signup.save(update_fields=["status"])
    if freed:
        promoted = (
            Signup.objects.filter(activity=activity, status=Signup.Status.WAITLISTED)
            .order_by("id")
            .first()
        )
        if promoted is not None:
            promoted.status = Signup.Status.CONFIRMED
            promoted.save(update_fields=["status"])
            notify(
                [
                    Notice(
                        resident_id=promoted.resident_id,
                        kind="activity.place_freed",
                        subject=_("You have a place: %(title)s") % {"title": activity.title},
                        body="",
                    )
                ]
            )
    return signup


@transaction.atomic
def activity_attendance(*, activity_id: int, actor: Actor, resident_ids: list[int]) -> list[Signup]:
    """A leader takes attendance; attendees earn points by the activity's rule, once each."""
    activity = _activity_for_update(activity_id)
    access.may_take_attendance(actor, activity, resident_ids)
    return _attend(activity, resident_ids)


def _attend(activity: Activity, resident_ids: list[int]) -> list[Signup]:
    signups = list(
        Signup.objects.filter(
            activity=activity, resident_id__in=resident_ids, status=Signup.Status.CONFIRMED
        )
    )
    missing = set(resident_ids) - {s.resident_id for s in signups}
    if missing:
        raise ValidationFailed(
            _("Not signed up (with a place): %(ids)s") % {"ids": sorted(missing)},
            code="not_signed_up",
            field="resident_ids",
        )
    for signup in signups:
        if signup.attended:
            continue
        signup.attended = True
        if activity.points_category and _points_enabled():
            from tenants.points.services import points_award

            source = f"helpteam.activity:{activity.pk}:resident:{signup.resident_id}"
            try:
                with transaction.atomic():
                    tx = points_award(
                        resident_id=signup.resident_id,
                        category=activity.points_category,
                        source=source,
                        idempotency_key=source,
                        hours=None,
                        memo=activity.title,
                        served_on=clock.day_of(activity.starts_at),
                    )
                signup.points_transaction_id = tx.pk
            except Conflict as exc:
                if exc.code != "cap_reached":
                    raise
        signup.save(update_fields=["attended", "points_transaction_id"])
    audit_record(
        action="activity.attendance",
        obj=activity,
        changes={"attended": [None, sorted(resident_ids)]},
    )
    return signups


# --- settings ------------------------------------------------------------------------------


def helpteam_settings() -> HelpteamSettings:
    from linli.registry.selectors import module_settings

    return module_settings("helpteam", HelpteamSettings)


# --- proof of service ------------------------------------------------------------------------


def _token_matches(help_request: HelpRequest, token: str) -> None:
    import hmac

    if not hmac.compare_digest(help_request.qr_token.encode(), (token or "").strip().encode()):
        raise ValidationFailed(
            _("This is not the request's code."), code="code_invalid", field="token"
        )


@transaction.atomic
def request_check_in(*, request_id: int, volunteer_resident_id: int, token: str) -> HelpRequest:
    """The volunteer scans the request's code on arrival: the work has started."""
    help_request = _request_for_update(request_id)
    _by_claimer(help_request, volunteer_resident_id)
    _token_matches(help_request, token)
    _move(help_request, {Status.CLAIMED}, Status.IN_PROGRESS)
    help_request.started_at = help_request.checked_in_at = timezone.now()
    help_request.save(update_fields=["status", "started_at", "checked_in_at", "updated_at"])
    audit_record(action="help_request.checked_in", obj=help_request)
    return help_request


@transaction.atomic
def request_check_out(*, request_id: int, volunteer_resident_id: int, token: str) -> HelpRequest:
    """The volunteer scans the code again when leaving: the work is done."""
    help_request = _request_for_update(request_id)
    _by_claimer(help_request, volunteer_resident_id)
    _token_matches(help_request, token)
    _move(help_request, {Status.IN_PROGRESS}, Status.DONE)
    _window_started(help_request, timezone.now())  # early is a leader's, with a reason
    help_request.done_at = help_request.checked_out_at = timezone.now()
    help_request.save(update_fields=["status", "done_at", "checked_out_at", "updated_at"])
    audit_record(action="help_request.checked_out", obj=help_request)
    return help_request


MAX_EVIDENCE = MAX_PHOTO_BYTES


@transaction.atomic
def request_evidence_add(
    *, request_id: int, volunteer_resident_id: int, content: bytes
) -> HelpRequest:
    """A photo of the work (JPEG or PNG, at most 5 MB), kept in the tenant's own folder; a
    request keeps one, and the one it replaces is deleted once this commits."""
    from django.core.files.base import ContentFile

    help_request = _request_for_update(request_id)
    _by_claimer(help_request, volunteer_resident_id)
    kind = photo_extension(content)
    replaced = help_request.evidence.name
    help_request.evidence.save(
        photo_name(f"request-{help_request.pk}", kind), ContentFile(content), save=False
    )
    help_request.save(update_fields=["evidence", "updated_at"])
    stored_file_delete_on_commit(name=replaced)
    audit_record(action="help_request.evidence", obj=help_request)
    return help_request


@transaction.atomic
def hours_record_bulk(*, actor: Actor, entries: list[tuple[int, Decimal]]) -> list[HelpRequest]:
    """A leader enters hours for volunteers without phones: each request (one the leader
    leads, and did not serve themself) is marked done if it is not yet, and confirmed, with
    points as usual. All or nothing."""
    confirmed = []
    for n, (request_id, hours) in enumerate(entries):
        # The body's entries name the requests: the answer points at the entry that failed.
        help_request = access.help_request_named(
            actor=actor, help_request_id=request_id, field=f"entries/{n}/request_id"
        )
        access.may_record_hours(actor, help_request)
        if help_request.status in {Status.CLAIMED, Status.IN_PROGRESS}:
            # not done before its time here: early is ``request_done``'s, with a reason
            _window_started(help_request, timezone.now(), field=f"entries/{n}/request_id")
            help_request.status, help_request.done_at = Status.DONE, timezone.now()
            help_request.save(update_fields=["status", "done_at", "updated_at"])
        try:
            confirmed.append(request_confirm(request_id=request_id, hours=hours, actor=actor))
        except ValidationFailed as exc:
            if exc.field == "hours":
                exc.field = f"entries/{n}/hours"
            raise
    audit_record(
        action="help_request.hours_bulk",
        object_type="helpteam.helprequest",
        changes={"entries": [None, [[i, str(h)] for i, h in entries]]},
    )
    return confirmed


# --- automatic confirmation and disputes --------------------------------------------------------


def _hours_served(help_request: HelpRequest) -> Decimal:
    if help_request.checked_in_at and help_request.checked_out_at:
        seconds = (help_request.checked_out_at - help_request.checked_in_at).total_seconds()
    else:
        seconds = (help_request.window_end - help_request.window_start).total_seconds()
    hours = Decimal(seconds / 3600).quantize(Decimal("0.01"))
    return max(Decimal("0.25"), min(hours, Decimal(24)))


def requests_auto_confirm(*, now: datetime | None = None) -> int:
    """Confirm done requests the requester left unanswered for ``auto_confirm_days``."""
    days = helpteam_settings().auto_confirm_days
    if not days:
        return 0
    now = now or timezone.now()
    due = list(
        HelpRequest.objects.filter(
            status=Status.DONE, done_at__lt=now - timedelta(days=days)
        ).values_list("pk", flat=True)
    )
    for request_id in due:
        with transaction.atomic():
            help_request = _request_for_update(request_id)
            if help_request.status != Status.DONE:
                continue
            request_confirm(
                request_id=request_id,
                hours=_hours_served(help_request),
                actor=access.the_district(),
            )
            HelpRequest.objects.filter(pk=request_id).update(auto_confirmed=True)
    return len(due)


@transaction.atomic
def request_dispute(*, request_id: int, actor: Actor, reason: str) -> HelpRequest:
    """The requester disputes an automatic confirmation within the dispute window."""
    help_request = _request_for_update(request_id)
    access.may_dispute(actor, help_request)
    window = timedelta(days=helpteam_settings().dispute_days)
    if (
        not help_request.auto_confirmed
        or help_request.confirmed_at is None
        or timezone.now() > help_request.confirmed_at + window
    ):
        raise Conflict(
            _("Only an automatic confirmation can be disputed, within its window."),
            code="not_disputable",
        )
    if help_request.disputed_at is not None:
        raise Conflict(_("This request is already disputed."), code="already_disputed")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Say what went wrong."), code="reason_required", field="reason")
    help_request.disputed_at, help_request.dispute_reason = timezone.now(), reason[:255]
    help_request.save(update_fields=["disputed_at", "dispute_reason", "updated_at"])
    audit_record(action="help_request.disputed", obj=help_request)
    return help_request


@transaction.atomic
def request_dispute_resolve(*, request_id: int, actor: Actor, upheld: bool) -> HelpRequest:
    """A leader of the place decides (neither the volunteer nor the requester); an upheld
    dispute takes the points back through the ledger."""
    help_request = _request_for_update(request_id)
    access.may_resolve_dispute(actor, help_request)
    if help_request.disputed_at is None or help_request.dispute_upheld is not None:
        raise Conflict(_("There is no open dispute on this request."), code="no_dispute")
    help_request.dispute_upheld = upheld
    help_request.save(update_fields=["dispute_upheld", "updated_at"])
    if upheld and help_request.points_transaction_id:
        from tenants.points.services import transaction_reverse

        transaction_reverse(
            transaction_id=help_request.points_transaction_id,
            reason=f"dispute upheld on help request {help_request.pk}",
            idempotency_key=f"helpteam.request:{help_request.pk}:dispute",
        )
    audit_record(
        action="help_request.dispute_resolved", obj=help_request, changes={"upheld": [None, upheld]}
    )
    return help_request


# --- activities: creation and check-in ---------------------------------------------------------


@transaction.atomic
def activity_create(
    *,
    actor: Actor,
    title: str,
    estate_id: int,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    space_id: int | None = None,
    points_category: str = "",
) -> Activity:
    """An activity, organised by a leader of the estate; its space must be free for the
    whole time."""
    from tenants.community.models import Estate
    from tenants.helpteam.models import Space

    estate = Estate.objects.filter(pk=estate_id).first()
    if estate is None:  # the body's fault, before who may organise there is judged
        raise ValidationFailed(
            _("No estate %(id)s.") % {"id": estate_id}, code="estate_not_found", field="estate_id"
        )
    access.may_organise(actor, estate_id)
    title = (title or "").strip()
    if not title:
        raise ValidationFailed(
            _("An activity needs a title."), code="title_required", field="title"
        )
    if ends_at <= starts_at:
        raise ValidationFailed(
            _("It must end after it starts."), code="time_invalid", field="ends_at"
        )
    if capacity < 1:
        raise ValidationFailed(
            _("Capacity is at least 1."), code="capacity_invalid", field="capacity"
        )
    space = None
    if space_id is not None:
        space = Space.objects.select_for_update().filter(pk=space_id, estate=estate).first()
        if space is None:
            raise ValidationFailed(
                _("No such space in this estate."), code="space_not_found", field="space_id"
            )
        if Activity.objects.filter(
            space=space, cancelled=False, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).exists():
            raise Conflict(
                _("The space is booked at that time."), code="space_booked", field="space_id"
            )
    activity = Activity.objects.create(
        title=title,
        estate=estate,
        space=space,
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        points_category=points_category,
    )
    audit_record(action="activity.created", obj=activity)
    return activity


@transaction.atomic
def activity_check_in(*, activity_id: int, resident_id: int, token: str) -> Signup:
    """A participant scans the activity's code: attendance taken, points as for a leader's."""
    import hmac

    activity = _activity_for_update(activity_id)
    if not hmac.compare_digest(activity.qr_token.encode(), (token or "").strip().encode()):
        raise ValidationFailed(
            _("This is not the activity's code."), code="code_invalid", field="token"
        )
    Signup.objects.filter(
        activity=activity, resident_id=resident_id, checked_in_at__isnull=True
    ).update(checked_in_at=timezone.now())
    return _attend(activity, [resident_id])[0]

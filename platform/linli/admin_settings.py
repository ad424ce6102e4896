"""The module settings as a district office reads them: each field with a label and help in
the visitor's language, the unit it is entered in (a share as a percentage, money in yuan
while it is stored in fen), and problems named by the field's label.

The modules' pydantic models stay the one place that validates; this layer only names,
converts and explains.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

PERCENT, YUAN = "percent", "yuan"
# Kinds of input beyond a single box: a list of whole numbers, the points' earning rules.
NUMBERS, RULES = "numbers", "rules"


@dataclass(frozen=True)
class SettingField:
    label: Any
    help: Any = ""
    unit: Any = ""  # PERCENT and YUAN convert; any other text is shown after the box
    choices: tuple[tuple[str, Any], ...] = ()
    kind: str = ""


DAYS, HOURS, MONTHS = gettext_lazy("days"), gettext_lazy("hours"), gettext_lazy("months")

FIELDS: dict[tuple[str, str], SettingField] = {
    ("deliberation", "quorum_share"): SettingField(
        gettext_lazy("Quorum"),
        gettext_lazy("Share of the invited households that must attend for a decision."),
        PERCENT,
    ),
    ("deliberation", "vote_per"): SettingField(
        gettext_lazy("One vote per"),
        gettext_lazy("Whether each household or each attendee votes."),
        choices=(
            ("household", gettext_lazy("Household")),
            ("attendee", gettext_lazy("Attendee")),
        ),
    ),
    ("deliberation", "visit_every_days"): SettingField(
        gettext_lazy("Home visits every"),
        gettext_lazy("Every household is visited at least this often."),
        DAYS,
    ),
    ("helpteam", "auto_confirm_days"): SettingField(
        gettext_lazy("Confirm automatically after"),
        gettext_lazy(
            "A request marked done is confirmed this many days later if the requester has "
            "not answered. Leave empty to never confirm automatically."
        ),
        DAYS,
    ),
    ("helpteam", "dispute_days"): SettingField(
        gettext_lazy("Time to dispute"),
        gettext_lazy("Days after an automatic confirmation in which the requester may object."),
        DAYS,
    ),
    ("helpteam", "unclaimed_alert_hours"): SettingField(
        gettext_lazy("Alert about unclaimed requests after"),
        gettext_lazy("Leaders are told about a request nobody has taken after this long."),
        HOURS,
    ),
    ("helpteam", "star_thresholds"): SettingField(
        gettext_lazy("Hours for each star"),
        gettext_lazy("Confirmed service hours a volunteer needs for each star, ascending."),
        kind=NUMBERS,
    ),
    ("shop", "fen_per_point"): SettingField(
        gettext_lazy("Value of one point"),
        gettext_lazy("What one point is worth when paying at the shop."),
        YUAN,
    ),
    ("shop", "pickup_grace_hours"): SettingField(
        gettext_lazy("Pickup grace period"),
        gettext_lazy("Hours after the pickup day before an uncollected pre-order expires."),
        HOURS,
    ),
    ("shop", "hold_days"): SettingField(
        gettext_lazy("Orders wait at the shop for"),
        gettext_lazy("Days a daily-goods order waits at the shop to be collected."),
        DAYS,
    ),
    ("shop", "parcel_remind_days"): SettingField(
        gettext_lazy("Remind about a parcel after"),
        gettext_lazy("The household is reminded after its parcel has waited this long."),
        DAYS,
    ),
    ("shop", "parcel_return_days"): SettingField(
        gettext_lazy("Return a parcel after"),
        gettext_lazy("A parcel still waiting this long goes back to the sender."),
        DAYS,
    ),
    ("points", "earning_rules"): SettingField(
        gettext_lazy("Earning rules"),
        gettext_lazy(
            "Points per hour or per task for each kind of service, with daily and monthly "
            "caps and who confirms. To remove a rule, empty its kind of service; the rule "
            "for all other services applies where no rule of their own does."
        ),
        kind=RULES,
    ),
    ("points", "allow_transfers"): SettingField(
        gettext_lazy("Residents may give points to each other"),
    ),
    ("points", "expiry_months"): SettingField(
        gettext_lazy("Points expire after"),
        gettext_lazy("Leave empty if points never expire."),
        MONTHS,
    ),
}

# What stops when a module is turned off, said before the district confirms.
STOPS = {
    "deliberation": gettext_lazy(
        "Residents can no longer raise topics; councils, meetings and the leaders' "
        "contact log are hidden. Nothing is deleted."
    ),
    "helpteam": gettext_lazy(
        "Residents can no longer ask for help; volunteers, teams and activities are hidden. "
        "Nothing is deleted."
    ),
    "shop": gettext_lazy(
        "Pre-orders, the shop's counter and parcels stop; open orders stay as they are. "
        "Nothing is deleted."
    ),
    "points": gettext_lazy(
        "Volunteers stop earning points and the shop stops taking them; balances are kept."
    ),
}


# The columns of an earning rule (``tenants.points.settings.EarningRule``).
RULE_FIELDS = {
    "category": gettext_lazy("Kind of service"),
    "per": gettext_lazy("Counted"),
    "points": gettext_lazy("Points"),
    "daily_cap": gettext_lazy("At most a day"),
    "monthly_cap": gettext_lazy("At most a month"),
    "confirmers": gettext_lazy("Confirmed by"),
}
RULE_PER = (("hour", gettext_lazy("per hour")), ("task", gettext_lazy("per task")))
RULE_CONFIRMERS = (
    ("requester", gettext_lazy("the requester")),
    ("leader", gettext_lazy("a leader")),
    ("admin", gettext_lazy("a district admin")),
)
DEFAULT_CATEGORY = "default"


def rule_categories(used: Any = ()) -> list[tuple[str, Any]]:
    """The kinds of service a rule is for: the help team's skills, everything else, and any
    kind a rule already names that is no skill (any longer)."""
    from tenants.helpteam.models import Skill  # every tenant's schema has the table

    choices: list[tuple[str, Any]] = [(DEFAULT_CATEGORY, gettext_lazy("All other services"))]
    choices += [(skill.code, skill.name) for skill in Skill.objects.order_by("name")]
    known = {code for code, _name in choices}
    return choices + [(code, code) for code in used if code and code not in known]


def rules_posted(post: Any) -> list[dict[str, Any]] | None:
    """The earning rules from the table's rows (``rule-<n>-<column>``); None if not posted.

    A row without a kind of service is left out (that is how a rule is removed)."""
    numbers = sorted(
        {int(key.split("-")[1]) for key in post if key.startswith("rule-") and key[5:6].isdigit()}
    )
    if not numbers:
        return None
    rules = []
    for n in numbers:
        category = post.get(f"rule-{n}-category", "").strip()
        if not category:
            continue
        rule: dict[str, Any] = {"category": category, "per": post.get(f"rule-{n}-per", "task")}
        for column in ("points", "daily_cap", "monthly_cap"):
            raw = post.get(f"rule-{n}-{column}", "").strip()
            rule[column] = None if raw == "" else (int(raw) if raw.lstrip("-").isdigit() else raw)
        rule["confirmers"] = post.getlist(f"rule-{n}-confirmers")
        rules.append(rule)
    return rules


def rules_rows(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The table's rows: each rule, and an empty one to add a rule."""
    blank = {"category": "", "per": "task", "points": None, "daily_cap": None}
    rows = [*rules, {**blank, "monthly_cap": None, "confirmers": ["requester", "leader"]}]
    return [
        {**row, "n": n, **{c: "" if row.get(c) is None else row[c] for c in RULE_FIELDS}}
        for n, row in enumerate(rows)
    ]


def field_spec(module: str, name: str) -> SettingField:
    return FIELDS.get((module, name), SettingField(name.replace("_", " ").capitalize()))


def shown_value(spec: SettingField, value: Any) -> Any:
    """A stored value as the form shows it (a share as a percentage, fen as yuan)."""
    if value is None:
        return ""
    if spec.kind == NUMBERS and isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if spec.unit == PERCENT:
        return f"{Decimal(str(value)) * 100:.0f}"
    if spec.unit == YUAN:
        return f"{Decimal(value) / 100:.2f}"
    return value


def stored_value(spec: SettingField, raw: str) -> Any:
    """A value as entered, in the unit the model stores (left as typed if not a number)."""
    raw = raw.strip()
    if spec.kind == NUMBERS:
        items = [item.strip() for item in raw.replace("\uff0c", ",").split(",") if item.strip()]
        return [int(item) if item.isdigit() else item for item in items]
    if raw == "" or spec.unit not in (PERCENT, YUAN):
        return raw
    try:
        number = Decimal(raw.replace("%", "").replace("¥", "").replace("元", ""))
    except InvalidOperation:
        return raw
    if spec.unit == PERCENT:
        return float(number / 100)
    return int((number * 100).to_integral_value())


def _limit_shown(spec: SettingField, limit: Any) -> str:
    shown = shown_value(spec, limit)
    if spec.unit == PERCENT:
        return f"{shown}%"
    if spec.unit == YUAN:
        return _("¥%(amount)s") % {"amount": shown}
    return f"{shown} {spec.unit}".strip()


def problem_message(module: str, error: dict[str, Any]) -> tuple[str, str]:
    """The field and a message naming its label for one pydantic error."""
    loc: tuple[Any, ...] = tuple(error.get("loc") or ())
    name = str(loc[0]) if loc else "__all__"
    spec = field_spec(module, name)
    label, ctx, kind = spec.label, error.get("ctx") or {}, error.get("type", "")
    if spec.kind == RULES and len(loc) >= 3 and str(loc[2]) in RULE_FIELDS:
        label = _("%(rules)s, row %(row)s: %(column)s") % {
            "rules": spec.label,
            "row": int(loc[1]) + 1,
            "column": RULE_FIELDS[str(loc[2])],
        }
        spec = SettingField(label)
    limits = {
        "greater_than": _("%(label)s must be more than %(limit)s."),
        "greater_than_equal": _("%(label)s must be at least %(limit)s."),
        "less_than": _("%(label)s must be less than %(limit)s."),
        "less_than_equal": _("%(label)s must be at most %(limit)s."),
    }
    if kind in limits:
        limit = next(iter(ctx.values()), "")
        return name, limits[kind] % {"label": label, "limit": _limit_shown(spec, limit)}
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return name, _("%(label)s must be a whole number.") % {"label": label}
    if kind in ("float_parsing", "float_type", "decimal_parsing"):
        return name, _("%(label)s must be a number.") % {"label": label}
    if kind in ("bool_parsing", "bool_type"):
        return name, _("%(label)s must be yes or no.") % {"label": label}
    if kind == "literal_error":
        return name, _("Choose one of the options for %(label)s.") % {"label": label}
    if kind in ("list_type", "json_invalid", "model_type", "dict_type", "model_attributes_type"):
        return name, _("%(label)s is not in the expected form.") % {"label": label}
    if name == "__all__":
        return name, str(error.get("msg", "")).removeprefix("Value error, ")
    return name, _("%(label)s: %(problem)s") % {
        "label": label,
        "problem": str(error.get("msg", "")).removeprefix("Value error, "),
    }

"""Sentry: errors and traces with the tenant and module as tags, and no personal data.

Off unless ``SENTRY_DSN`` is set. Every event, transaction and breadcrumb goes
through ``scrub`` before it leaves the process: values under keys that hold
names, addresses, emails, phones, credentials or cookies are replaced, and in
every remaining string phone numbers (Chinese mobiles, other long digit runs),
email addresses, bearer tokens, Linli API keys (``lk_<prefix>_<secret>``),
payment-provider keys and the deployment's own secrets are masked. Requests
carry ``tenant``, ``module`` and ``request_id`` tags (set by the request
middleware), jobs ``tenant``, ``module`` and ``task`` (``job_scope``).
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

from linli.ops.logs import bound, module_for_task

FILTERED = "[Filtered]"

# Keys whose values are personal data or credentials, wherever they appear.
NAME_KEYS = frozenset(
    {
        "name",
        "display_name",
        "admin_name",
        "full_name",
        "first_name",
        "last_name",
        "real_name",
        "nickname",
        "nick_name",
        "contact_name",
        "resident_name",
        "recipient_name",
        "username",
        "admin_username",
    }
)
# Any key containing one of these words (``admin_email``, ``home_address``, ``x-csrftoken``).
SENSITIVE_WORDS = (
    "address",
    "email",
    "phone",
    "mobile",
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "authorization",
    "cookie",
    "session",
    "csrf",
    "signature",
    "id_card",
    "id_number",
)
# Keys that carry Sentry's own identifiers and timestamps: never rewritten.
STRUCTURAL_KEYS = frozenset(
    {
        "event_id",
        "trace_id",
        "span_id",
        "parent_span_id",
        "segment_id",
        "profile_id",
        "timestamp",
        "start_timestamp",
        "release",
        "environment",
        "sdk",
        "platform",
        "level",
        "modules",
        "debug_meta",
        "tags",
        "type",
        "lineno",
        "colno",
    }
)

_KEY_ALTERNATION = "|".join(
    sorted({re.escape(k) for k in NAME_KEYS} | {rf"\w*{w}\w*" for w in SENSITIVE_WORDS})
)
# ``name=Wang``, ``"name": "Wang Fang"``, ``'phone': '138...'`` inside free text.
_KEY_VALUE = re.compile(
    rf"""(?P<key>["']?\b(?:{_KEY_ALTERNATION})\b["']?\s*[:=]\s*)"""
    r"""(?P<value>(?:Bearer|Basic|Token)\s+\S+|"[^"]*"|'[^']*'|[^\s&,;)}\]]+)""",
    re.IGNORECASE,
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bBearer\s+\S+", re.IGNORECASE), f"Bearer {FILTERED}"),
    # Linli API keys: lk_<12 hex prefix>_<url-safe secret>
    (re.compile(r"(?<![A-Za-z0-9])lk_[0-9a-f]{6,}_[A-Za-z0-9_-]+"), "[api key]"),
    (re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]+"), "[api key]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9]+"), "[api key]"),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), "[email]"),
    # Chinese mobiles, with or without +86 and separators: +86 138 0013 8000
    (re.compile(r"(?<![\d+])(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)"), "[phone]"),
    # international numbers written with a leading +
    (re.compile(r"\+\d(?:[\s().-]?\d){6,14}(?!\d)"), "[phone]"),
    # landlines such as 010-12345678, and any other run of 9 or more digits
    (re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)"), "[phone]"),
    (re.compile(r"(?<!\d)\d{9,}(?!\d)"), "[number]"),
)


def _sensitive_key(key: str) -> bool:
    key = key.lower().replace("-", "_")
    return key in NAME_KEYS or any(word in key for word in SENSITIVE_WORDS)


@functools.cache
def _deployment_secrets() -> tuple[str, ...]:
    """This deployment's own secrets (settings named like one, database passwords)."""
    from django.conf import settings

    found: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reading a deprecated setting warns
        for name in dir(settings):
            if name.isupper() and any(w in name for w in ("SECRET", "PASSWORD", "TOKEN")):
                value = getattr(settings, name, None)
                if isinstance(value, str) and len(value) >= 8:
                    found.add(value)
    for database in settings.DATABASES.values():
        password = database.get("PASSWORD")
        if isinstance(password, str) and len(password) >= 8:
            found.add(password)
    return tuple(sorted(found, key=len, reverse=True))


def scrub_text(text: str) -> str:
    """``text`` with personal data, keys and secrets masked."""
    for secret in _deployment_secrets():
        text = text.replace(secret, FILTERED)
    text = _KEY_VALUE.sub(lambda m: f"{m['key']}{FILTERED}", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub_query_string(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return scrub_text(query)
    return urlencode(
        [(k, FILTERED if _sensitive_key(k) else scrub_text(v)) for k, v in pairs], safe="[]"
    )


def scrub(value: Any, key: str = "") -> Any:
    """A deep copy of ``value`` with sensitive keys replaced and every string scrubbed."""
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            name = str(k)
            if name in STRUCTURAL_KEYS:
                out[k] = v
            elif _sensitive_key(name) and v not in (None, "", [], {}):
                out[k] = FILTERED
            elif name == "query_string" and isinstance(v, str):
                out[k] = _scrub_query_string(v)
            else:
                out[k] = scrub(v, name)
        return out
    if isinstance(value, list | tuple):
        return [scrub(item, key) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _sensitive_header(name: str) -> bool:
    return _sensitive_key(name) or name.lower() in {"x-api-key", "proxy-authorization"}


def scrub_event(event: Any, hint: dict[str, Any] | None = None) -> Any:
    """``before_send`` and ``before_send_transaction``: the event without personal data."""
    request = event.get("request")
    if isinstance(request, dict):
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                k: FILTERED if _sensitive_header(str(k)) else v for k, v in headers.items()
            }
        request.pop("cookies", None)
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    contexts = event.get("contexts")
    if isinstance(contexts, dict):
        # The runtime, os and trace contexts name software, not people; keep them as sent.
        kept = {k: v for k, v in contexts.items() if k in {"runtime", "os", "trace"}}
        event["contexts"] = {**scrub({k: v for k, v in contexts.items() if k not in kept}), **kept}
        trace = kept.get("trace")
        if isinstance(trace, dict) and "data" in trace:
            trace["data"] = scrub(trace["data"])
    rest = {k: v for k, v in event.items() if k != "contexts"}
    return {**scrub(rest), **({"contexts": event["contexts"]} if "contexts" in event else {})}


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_breadcrumb``: the breadcrumb's message and data scrubbed."""
    return dict(scrub(crumb))


def release() -> str:
    """``LINLI_RELEASE`` (a build or commit id), else the installed package's version."""
    given = os.environ.get("LINLI_RELEASE", "").strip()
    if given:
        return given
    try:
        return f"linli@{metadata.version('linli')}"
    except metadata.PackageNotFoundError:
        return "linli@unknown"


def sentry_init(
    *,
    dsn: str,
    environment: str,
    traces_sample_rate: float = 0.0,
    transport: Any = None,
) -> bool:
    """Start Sentry with Linli's scrubbing; nothing happens without a DSN."""
    if not dsn:
        return False
    with warnings.catch_warnings():
        # SDK 2.x prefers its newer ``data_collection`` option and warns about this one;
        # without ``data_collection`` it derives the same behaviour from it: no user
        # identity, cookies or personal headers collected by the integrations.
        warnings.filterwarnings(
            "ignore", message=".*send_default_pii.*", category=DeprecationWarning
        )
        _init(
            dsn=dsn,
            environment=environment,
            traces_sample_rate=traces_sample_rate,
            transport=transport,
        )
    return True


def _init(*, dsn: str, environment: str, traces_sample_rate: float, transport: Any) -> None:
    sentry_sdk.init(
        dsn=dsn,
        release=release(),
        environment=environment,
        integrations=[DjangoIntegration(transaction_style="url")],
        send_default_pii=False,
        event_scrubber=EventScrubber(
            denylist=[*DEFAULT_DENYLIST, *NAME_KEYS, "phone", "mobile", "email", "address"],
            recursive=True,
        ),
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        traces_sample_rate=traces_sample_rate,
        transport=transport,
    )


def request_tags(*, tenant: str, module: str, request_id: str) -> None:
    """Tag whatever Sentry sends for the current request (its isolation scope)."""
    scope = sentry_sdk.get_isolation_scope()
    scope.set_tag("tenant", tenant)
    scope.set_tag("module", module)
    scope.set_tag("request_id", request_id)


@contextmanager
def job_scope(*, task: str, tenant: str | None) -> Iterator[None]:
    """Run a job with its own Sentry scope and log context, tagged with tenant and task.

    An exception is reported here, inside the job's scope, and raised on to
    procrastinate; its own error log line of the same exception is then dropped
    by Sentry's de-duplication, so each failure is one event with the right tags.
    """
    from linli.ops import metrics

    slug = tenant or "public"
    module = module_for_task(task)
    with sentry_sdk.isolation_scope() as scope, bound(tenant=tenant, module=module, task=task):
        scope.set_tag("tenant", slug)
        scope.set_tag("module", module)
        scope.set_tag("task", task)
        with sentry_sdk.start_transaction(op="queue.task", name=task, source="task"):
            try:
                yield
            except Exception:
                metrics.JOB_FAILURES.labels(task=task).inc()
                sentry_sdk.capture_exception()
                raise

"""The table of every problem ``code`` the API can answer, read from the code itself.

Every refusal names its code where it is raised: ``NotFound(_("…"), code="topic_not_found")``
in a service or an access rule, ``problem(409, "idempotency_in_progress", …)`` in the
API's own layers. This module reads the source (without running it) for those, with the
HTTP status each exception class stands for, and renders ``api/errors.md``; ``linli
api-schema`` writes it beside the OpenAPI documents and ``--check`` (and a test) fails
when it is stale.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("api", "tenants", "platform/linli")
BASE_STATUS = {"LinliError": 400}
TABLE = Path(__file__).resolve().parent / "errors.md"


@dataclass
class Code:
    code: str
    statuses: set[int] = field(default_factory=set)
    modules: set[str] = field(default_factory=set)
    messages: list[str] = field(default_factory=list)


def _files() -> list[Path]:
    found: list[Path] = []
    for source in SOURCES:
        found += [
            path
            for path in sorted((ROOT / source).rglob("*.py"))
            if "migrations" not in path.parts and "tests" not in path.parts
        ]
    return found


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _text(node: ast.expr | None) -> str:
    """The English text of ``_("…")``, ``gettext("…")`` or a literal, else ''."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and node.args and _name(node.func) in ("_", "gettext"):
        return _text(node.args[0])
    if isinstance(node, ast.BinOp):  # _("… %(x)s …") % {...}
        return _text(node.left)
    return ""


def _statuses(trees: list[ast.Module]) -> dict[str, int]:
    """Each exception class's HTTP status, following its bases."""
    classes: dict[str, tuple[list[str], int | None]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            status = None
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and [_name(t) for t in statement.targets] == ["status"]
                    and isinstance(statement.value, ast.Constant)
                    and isinstance(statement.value.value, int)
                ):
                    status = statement.value.value
            classes.setdefault(node.name, ([_name(base) for base in node.bases], status))
    resolved = dict(BASE_STATUS)

    def status_of(name: str, seen: frozenset[str] = frozenset()) -> int | None:
        if name in resolved:
            return resolved[name]
        if name not in classes or name in seen:
            return None
        bases, own = classes[name]
        found = own
        for base in bases:
            if found is not None:
                break
            found = status_of(base, seen | {name})
        if found is not None:
            resolved[name] = found
        return found

    for name in classes:
        status_of(name)
    return resolved


def collect() -> list[Code]:
    parsed = [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in _files()]
    statuses = _statuses([tree for _path, tree in parsed])
    codes: dict[str, Code] = defaultdict(lambda: Code(code=""))

    def note(code: str, status: int, path: Path, message: str) -> None:
        entry = codes[code]
        entry.code = code
        entry.statuses.add(status)
        parts = path.relative_to(ROOT).parts
        if parts[0] == "tenants" or (parts[0] == "api" and not parts[1].endswith(".py")):
            entry.modules.add(parts[1])
        else:
            entry.modules.add("api" if parts[0] == "api" else "platform")
        if message and message not in entry.messages:
            entry.messages.append(message)

    for path, tree in parsed:
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = _name(node.func)
            if callee == "problem" and len(node.args) >= 2:
                status, code = node.args[0], node.args[1]
                if (
                    isinstance(status, ast.Constant)
                    and isinstance(status.value, int)
                    and isinstance(code, ast.Constant)
                    and isinstance(code.value, str)
                ):
                    detail = _text(node.args[2]) if len(node.args) > 2 else ""
                    note(code.value, status.value, path, detail)
                continue
            keyword = next((k for k in node.keywords if k.arg == "code"), None)
            status_of = statuses.get(callee)
            if (
                keyword is not None
                and status_of is not None
                and isinstance(keyword.value, ast.Constant)
                and isinstance(keyword.value.value, str)
            ):
                message = _text(node.args[0]) if node.args else ""
                note(keyword.value.value, status_of, path, message)
    from api.errors import STATUS_CODES

    for answered, named in STATUS_CODES.items():
        note(named, answered, ROOT / "api" / "errors.py", "")
    return sorted(codes.values(), key=lambda entry: (min(entry.statuses), entry.code))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render() -> str:
    lines = [
        "# Error codes",
        "",
        "Every error the API answers is an RFC 9457 problem "
        "(`application/problem+json`) with a stable `code`. This table lists every code, "
        "its HTTP status and where it comes from, with the English text of its `detail` "
        "(translated by `Accept-Language`; `%(name)s` stands for a value). It is generated "
        "from the code by `linli api-schema`; do not edit it by hand.",
        "",
        "| code | status | module | detail |",
        "|---|---|---|---|",
    ]
    for entry in collect():
        statuses = ", ".join(str(status) for status in sorted(entry.statuses))
        modules = ", ".join(sorted(entry.modules))
        message = _cell(entry.messages[0]) if entry.messages else ""
        if len(entry.messages) > 1:
            message += f" (and {len(entry.messages) - 1} more)"
        lines.append(f"| `{entry.code}` | {statuses} | {modules} | {message} |")
    return "\n".join(lines) + "\n"

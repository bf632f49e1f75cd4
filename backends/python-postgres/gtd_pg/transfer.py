"""Export/import documents (contract v2 §7): the checks on an import document that need
no database, the reference checks given the ids the store holds, and the cycle check on
the merged dependency graph. The SQL (and the merge by updated_at) is gtd_pg.store's.

Errors name `projects[i].member` / `tasks[i].member` and the first violation in document
order wins: version, then projects in order, then tasks in order; within one item its own
member checks (in member order), then its references (project_id, then blocked_by), as on
create. Structural checks run first without the database (`parse_document`), stopping at the
first bad item; reference checks (`check_references`) then run on the items before it, so a
dangling reference in tasks[1] is reported before a bad status in tasks[2].
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, invalid
from .validation import (
    PROJECT_STATUSES,
    TASK_STATUSES,
    Rule,
    blocked_by,
    context,
    date,
    is_real_date,
    is_uuid,
    js_key_order,
    one_of,
    repeat,
    text,
    uuid,
)

EXPORT_VERSION = 2
_TIMESTAMP_RE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.[0-9]{3}Z")


def timestamp(value: Any, field: str) -> str:
    """RFC 3339 UTC with milliseconds, exactly as served (`2026-01-01T00:00:00.000Z`), a real date."""
    m = _TIMESTAMP_RE.fullmatch(value) if isinstance(value, str) else None
    if (
        m is None
        or not is_real_date(int(m[1]), int(m[2]), int(m[3]))
        or int(m[4]) > 23
        or int(m[5]) > 59
        or int(m[6]) > 59
    ):
        raise invalid(field, f"{field} must be a timestamp like 2026-01-01T00:00:00.000Z")
    return str(value)


@dataclass(frozen=True)
class Member:
    rule: Rule
    required: bool = False  # else it may be absent (= its default)
    nullable: bool = False
    default: Any = None


PROJECT_MEMBERS: Mapping[str, Member] = {
    "id": Member(uuid, required=True),
    "name": Member(text(1, 200, blank=False), required=True),
    "status": Member(one_of(PROJECT_STATUSES), required=True),
    "notes": Member(text(0, 10_000), nullable=True),
    "reviewed_on": Member(date, nullable=True),
    "created_at": Member(timestamp, required=True),
    "updated_at": Member(timestamp, required=True),
}
TASK_MEMBERS: Mapping[str, Member] = {
    "id": Member(uuid, required=True),
    "title": Member(text(1, 500, blank=False), required=True),
    "notes": Member(text(0, 10_000), nullable=True),
    "status": Member(one_of(TASK_STATUSES), required=True),
    "project_id": Member(uuid, nullable=True),
    "context": Member(context, nullable=True),
    "due_date": Member(date, nullable=True),
    "defer_until": Member(date, nullable=True),
    "repeat": Member(repeat, nullable=True),
    "blocked_by": Member(blocked_by, default=()),
    "completed_at": Member(timestamp, nullable=True),
    "created_at": Member(timestamp, required=True),
    "updated_at": Member(timestamp, required=True),
}


@dataclass
class Parsed:
    """The items that passed their own checks, in document order, and the first one that did
    not (`error`, None when all passed). `project_ids`/`task_ids`: every id the document's
    arrays name, as far as they are ids, including items past the error."""

    projects: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    error: ApiError | None = None
    project_ids: set[str] = field(default_factory=set)
    task_ids: set[str] = field(default_factory=set)


def _item(value: Any, members: Mapping[str, Member], prefix: str, seen: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(prefix, f"{prefix} must be an object")
    for key in js_key_order(value):
        if key not in members:
            raise invalid(f"{prefix}.{key}", f"unknown member '{key}' in {prefix}")
    out: dict[str, Any] = {}
    for key, spec in members.items():
        name = f"{prefix}.{key}"
        if key not in value:
            if spec.required:
                raise invalid(name, f"{name} is required")
            out[key] = list(spec.default) if isinstance(spec.default, tuple) else spec.default
            continue
        if value[key] is None:
            if not spec.nullable:
                raise invalid(name, f"{name} must not be null")
            out[key] = None
            continue
        out[key] = spec.rule(value[key], name)
        if key == "id":
            if out[key] in seen:
                raise invalid(name, f"{name} appears twice in the document")
            seen.add(out[key])
    return out


def _ids(items: list[Any]) -> set[str]:
    return {
        item["id"].lower()
        for item in items
        if isinstance(item, dict) and isinstance(item.get("id"), str) and is_uuid(item["id"])
    }


def parse_document(doc: Any) -> Parsed:
    """The document's own checks. Raises the first violation in the top level or in
    `projects` at once (nothing before it can be wrong for another reason); a violation in
    `tasks` is returned in `Parsed.error`, for the caller to raise after the reference
    checks of the tasks before it."""
    if not isinstance(doc, dict):
        raise invalid(None, "request body must be an export document (a JSON object)")
    for key in js_key_order(doc):
        if key not in ("version", "projects", "tasks", "exported_at"):
            raise invalid(key, f"unknown member '{key}' in the document")
    if "version" not in doc:
        raise invalid("version", "version is required")
    version = doc["version"]
    # JSON numbers arrive as floats (gtd_pg.jsonparse); 2.0 is the JSON number 2. Not a bool.
    number = isinstance(version, int | float) and not isinstance(version, bool)
    if number and float(version).is_integer() and version > EXPORT_VERSION:
        raise invalid("version", f"version {int(version)} comes from a newer version of the app; this one reads 2")
    if not (number and version == EXPORT_VERSION):
        raise invalid("version", "version must be the integer 2")
    for key in ("projects", "tasks"):
        if key not in doc:
            raise invalid(key, f"{key} is required")
        if not isinstance(doc[key], list):
            raise invalid(key, f"{key} must be an array")
    parsed = Parsed(project_ids=_ids(doc["projects"]), task_ids=_ids(doc["tasks"]))
    seen: set[str] = set()
    for i, item in enumerate(doc["projects"]):
        parsed.projects.append(_item(item, PROJECT_MEMBERS, f"projects[{i}]", seen))
    seen = set()
    for i, item in enumerate(doc["tasks"]):
        try:
            parsed.tasks.append(_item(item, TASK_MEMBERS, f"tasks[{i}]", seen))
        except ApiError as err:
            parsed.error = err
            break
    return parsed


def referenced_ids(parsed: Parsed) -> tuple[set[str], set[str]]:
    """(project ids, task ids) the parsed tasks refer to: the ones to look up in the store."""
    projects = {t["project_id"] for t in parsed.tasks if t["project_id"] is not None}
    tasks = {b for t in parsed.tasks for b in t["blocked_by"]}
    return projects, tasks


def check_references(parsed: Parsed, stored_projects: Iterable[str], stored_tasks: Iterable[str]) -> None:
    """Raises the first violation in document order: a dangling project_id or blocked_by in
    the parsed tasks (each task: project_id, then blocked_by existence, self, duplicates),
    else the structural error `parse_document` found after them, if any."""
    projects = parsed.project_ids | set(stored_projects)
    tasks = parsed.task_ids | set(stored_tasks)
    for i, task in enumerate(parsed.tasks):
        if task["project_id"] is not None and task["project_id"] not in projects:
            raise invalid(f"tasks[{i}].project_id", "project_id names no project in the document or the store")
        name = f"tasks[{i}].blocked_by"
        blockers = task["blocked_by"]
        if any(b not in tasks for b in blockers):
            raise invalid(name, f"{name} names a task that is neither in the document nor in the store")
        if task["id"] in blockers:
            raise invalid(name, f"{name} must not name the task itself")
        if len(set(blockers)) != len(blockers):
            raise invalid(name, f"{name} names a task twice")
    if parsed.error is not None:
        raise parsed.error


def first_on_cycle(edges: Mapping[str, Iterable[str]], candidates: Iterable[tuple[int, str]]) -> int | None:
    """The first (index, id) of `candidates` whose task lies on a dependency cycle of the graph
    `edges` (task id -> the ids of its blockers), or None when the graph is acyclic.

    Tarjan's strongly connected components, iteratively (a chain of 10,000 tasks must not hit
    the recursion limit): a task is on a cycle iff its component has more than one task
    (self-dependencies are refused before this)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    on_cycle: set[str] = set()
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    on_cycle.update(component)
    for i, task_id in candidates:
        if task_id in on_cycle:
            return i
    return None

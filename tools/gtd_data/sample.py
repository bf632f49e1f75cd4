"""A made-up person's whole GTD system as one contract v2 export document, for benchmarks and scale tests.

    from gtd_data.sample import document
    body = document(10_000)      # 100 projects, 10,000 tasks; the same for the same seed

The tasks have the mix of a list kept for years: most done, the rest spread
over the lists, with contexts, notes, due and tickler dates, repeat rules and
dependencies (each on an earlier task), so ``POST /import`` of it exercises
every column. bench/backends/large.py and bench/lighthouse/run.py import it
into a backend; so does the browser suite's scale test.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

WORDS = (
    "call", "email", "buy", "fix", "plan", "review", "book", "pay", "write", "read", "clean", "order",
    "renew", "ask", "draft", "send", "check", "update", "sort", "print",
)  # fmt: skip
OBJECTS = (
    "dentist", "invoice", "garden", "taxes", "tyres", "report", "flights", "insurance", "passport",
    "boiler", "library books", "birthday gift", "slides", "budget", "newsletter", "contract",
)  # fmt: skip
STATUSES = (("done", 60), ("next", 10), ("inbox", 8), ("waiting", 6), ("scheduled", 6), ("someday", 10))
CONTEXTS = ("@home", "@work", "@phone", "@errands", "@computer")
RULES = ("FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=MONTHLY;BYMONTHDAY=1", "FREQ=YEARLY")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def document(tasks: int, seed: int = 24) -> dict[str, Any]:
    """A contract v2 export document of ``tasks`` tasks (and tasks // 100 projects, at least 5), the same for the same seed."""
    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    projects = []
    for index in range(max(5, tasks // 100)):
        created = _stamp(start + timedelta(hours=index))
        projects.append(
            {
                "id": new_id(),
                "name": f"Project {index}: {rng.choice(WORDS)} {rng.choice(OBJECTS)}",
                "status": rng.choices(("active", "someday", "done"), (70, 20, 10))[0],
                "notes": None,
                "reviewed_on": None,
                "created_at": created,
                "updated_at": created,
            }
        )
    statuses = [name for name, _ in STATUSES]
    weights = [weight for _, weight in STATUSES]
    items: list[dict[str, Any]] = []
    for index in range(tasks):
        created_at = start + timedelta(minutes=90 * index)
        status = rng.choices(statuses, weights)[0]
        task: dict[str, Any] = {
            "id": new_id(),
            "title": f"{rng.choice(WORDS)} {rng.choice(OBJECTS)} #{index}",
            "notes": f"{rng.choice(WORDS)} the {rng.choice(OBJECTS)} first" if rng.random() < 0.3 else None,
            "status": status,
            "project_id": rng.choice(projects)["id"] if rng.random() < 0.6 else None,
            "context": rng.choice(CONTEXTS) if rng.random() < 0.7 else None,
            "due_date": (created_at + timedelta(days=rng.randint(1, 60))).date().isoformat()
            if rng.random() < 0.2
            else None,
            "defer_until": "2027-06-01" if status != "done" and rng.random() < 0.1 else None,
            "repeat": {"rule": rng.choice(RULES), "from": rng.choice(("due", "completion"))}
            if rng.random() < 0.03
            else None,
            "blocked_by": [rng.choice(items)["id"]] if items and rng.random() < 0.05 else [],
            "completed_at": _stamp(created_at + timedelta(days=3)) if status == "done" else None,
            "created_at": _stamp(created_at),
            "updated_at": _stamp(created_at + timedelta(days=3) if status == "done" else created_at),
        }
        items.append(task)
    return {"version": 2, "projects": projects, "tasks": items}

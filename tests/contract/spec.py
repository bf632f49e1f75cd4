"""backends/contract/openapi.yaml as an oracle: every response the suite sees is checked against it.

``ContractChecker.check(response)`` finds the operation for the request's
path and method, asserts the status is one the spec documents for it, and
validates the JSON body against that response's schema (JSON Schema 2020-12,
with real checks for the ``uuid``, ``date`` and ``date-time`` formats).
Documented response headers that are present (``Next-Occurrence-Id``,
``Idempotent-Replayed``) must match their schema. Unknown routes must answer
the ``Error`` schema with 404, and methods the spec does not list must answer
405 with ``Allow``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[2] / "backends" / "contract" / "openapi.yaml"
SPEC_URI = "urn:gtd:openapi"
HTTP_METHODS = ("get", "post", "patch", "delete", "put")

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATE_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

FORMATS = jsonschema.FormatChecker(formats=())


@FORMATS.checks("uuid", raises=ValueError)
def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


@FORMATS.checks("date", raises=ValueError)
def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_RE.match(value):
        return False
    dt.date.fromisoformat(value)
    return True


@FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME_RE.match(value):
        return False
    dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


class _Cycle(Exception):
    """A schema that refers to itself: it cannot be written out in full."""


class ContractChecker:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(SPEC_URI, resource)
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", template) + "$"), template) for template in spec["paths"]
        ]
        self._validators: dict[str, jsonschema.Draft202012Validator] = {}

    # -- schemas ---------------------------------------------------------------

    def validator(self, pointer: str) -> jsonschema.Draft202012Validator:
        """A validator for a JSON pointer into the spec, e.g. ``/components/schemas/Task`` (one per pointer).

        Its schema is the spec's with every local ``$ref`` written out in place:
        looking references up through the registry for every item of a long
        task list was most of the contract suite's CPU time. A schema that
        refers to itself keeps its reference (resolved through the registry).
        """
        found = self._validators.get(pointer)
        if found is None:
            try:
                schema = self._inline(self._at(pointer), ())
            except _Cycle:
                schema = {"$ref": f"{SPEC_URI}#{pointer}"}
            found = jsonschema.Draft202012Validator(schema, registry=self.registry, format_checker=FORMATS)
            self._validators[pointer] = found
        return found

    def _at(self, pointer: str) -> Any:
        """The node of the spec at a JSON pointer (``/paths/~1tasks/get``)."""
        node: Any = self.spec
        for part in pointer.lstrip("/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def _inline(self, node: Any, seen: tuple[str, ...]) -> Any:
        """``node`` with each ``{"$ref": "#/..."}`` replaced by its target (siblings kept beside it in ``allOf``)."""
        if isinstance(node, list):
            return [self._inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if not (isinstance(ref, str) and ref.startswith("#/")):
            return {key: self._inline(value, seen) for key, value in node.items()}
        if ref in seen:
            raise _Cycle(ref)
        target = self._inline(self._at(ref[1:]), (*seen, ref))
        rest = {key: self._inline(value, seen) for key, value in node.items() if key != "$ref"}
        if not rest:
            return target
        # $ref with siblings applies both in place (2020-12), as allOf does.
        rest["allOf"] = [target, *rest.get("allOf", [])]
        return rest

    def validate(self, instance: Any, pointer: str) -> None:
        self.validator(pointer).validate(instance)

    def _deref(self, node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        ref = node.get("$ref")
        if ref is None:
            return node, None
        assert ref.startswith("#/"), ref
        target: Any = self.spec
        for part in ref[2:].split("/"):
            target = target[part]
        return target, ref[1:]

    # -- responses -------------------------------------------------------------

    def template_for(self, path: str) -> str | None:
        for regex, template in self.routes:
            if regex.match(path):
                return template
        return None

    def check(self, response: httpx.Response) -> None:
        """Assert that ``response`` is one the spec allows for its request."""
        request = response.request
        method = request.method.lower()
        status = response.status_code
        template = self.template_for(request.url.path)

        if method in ("head", "options"):
            assert response.content == b"", f"{method.upper()} must not have a body"
            return
        if template is None:
            assert status == 404, f"unknown route {request.url.path} answered {status}"
            self._check_json(response, "/components/schemas/Error")
            return
        operation = self.spec["paths"][template].get(method)
        if operation is None:
            assert status == 405, f"{method.upper()} {template} is not in the spec but answered {status}"
            assert "allow" in response.headers, "405 without an Allow header"
            self._check_json(response, "/components/schemas/Error")
            return

        documented = operation["responses"]
        assert str(status) in documented, (
            f"{method.upper()} {template} answered {status}, which the spec does not document "
            f"(documented: {sorted(documented)}); body: {response.text[:500]}"
        )
        node, pointer = self._deref(documented[str(status)])
        base = pointer or f"/paths/{_escape(template)}/{method}/responses/{status}"
        self._check_headers(response, node, base)
        content = node.get("content")
        if content is None:
            assert response.content == b"", f"{status} must not have a body, got {response.text[:200]!r}"
            return
        assert "application/json" in content, f"spec gives no JSON body for {status}"
        self._check_json(response, f"{base}/content/application~1json/schema")

    def _check_headers(self, response: httpx.Response, node: dict[str, Any], base: str) -> None:
        """Every header the spec documents for this response (e.g. ``Next-Occurrence-Id``) matches its schema."""
        for name, header in node.get("headers", {}).items():
            value = response.headers.get(name)
            if value is None:
                continue
            header, header_pointer = self._deref(header)
            pointer = f"{header_pointer or base + '/headers/' + _escape(name)}/schema"
            errors = list(self.validator(pointer).iter_errors(value))
            assert not errors, f"header {name}: {value!r} does not match the spec ({errors[0].message})"

    def _check_json(self, response: httpx.Response, pointer: str) -> None:
        content_type = response.headers.get("content-type", "")
        assert content_type.startswith("application/json"), f"content-type is {content_type!r}"
        body = response.json()
        errors = sorted(self.validator(pointer).iter_errors(body), key=lambda e: list(e.path))
        assert not errors, (
            f"{response.request.method} {response.request.url.path} → {response.status_code}: "
            f"body does not match the spec ({pointer}):\n"
            + "\n".join(f"  at {list(e.path)}: {e.message}" for e in errors[:5])
        )


def _escape(template: str) -> str:
    """JSON-pointer escaping of a path template (``/tasks/{id}`` → ``~1tasks~1{id}``)."""
    return template.replace("~", "~0").replace("/", "~1")

"""Check JSON bodies against the published Linq OpenAPI description (reference only).

``../shared/reference/linq-api-v3.yaml`` (beside the repository) is read, never
copied. :class:`LinqSchema` validates a request body for ``(method, path)`` and a
response body for ``(method, path, status)``; paths may be concrete
(``/v3/chats/abc/messages``) or templates (``/v3/chats/{chatId}/messages``).

The document mixes OpenAPI 3.0's ``nullable: true`` into 3.1 schemas; it is
rewritten here as ``anyOf [..., null]`` so a ``null`` the API documents as allowed
validates. ``format`` is not asserted (as in JSON Schema 2020-12 by default).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["MISSING_REASON", "REFERENCE", "LinqSchema", "load_schema"]

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "linq-api-v3.yaml"
MISSING_REASON = f"{REFERENCE} not found: bodies were not checked against Linq's published schemas"
_URI = "urn:linq-api-v3"


class LinqSchema:
    """The operations of the reference document, ready to validate bodies against."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = _nullable_as_json_schema(copy.deepcopy(dict(document)))
        resource = Resource.from_contents(self._document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(_URI, resource)
        self._templates = [
            (template, re.compile("^" + re.sub(r"\{[^/}]+\}", "[^/]+", template) + "$"))
            for template in self._document["paths"]
        ]

    @classmethod
    def load(cls, path: Path = REFERENCE) -> LinqSchema | None:
        """The schema of the reference file, or ``None`` when the file is absent."""
        if not path.is_file():
            return None
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))

    def template(self, method: str, path: str) -> str | None:
        """The documented path template for a concrete path, or ``None`` if undocumented."""
        path = path.split("?", 1)[0]
        matches = [
            template
            for template, pattern in self._templates
            if pattern.match(path) and method.lower() in self._document["paths"][template]
        ]
        # A literal segment beats a parameter: /v3/phone_numbers over /v3/{x}.
        return min(matches, key=lambda t: t.count("{"), default=None)

    def operations(self) -> set[tuple[str, str]]:
        """Every documented ``(METHOD, path template)``."""
        return {
            (method.upper(), template)
            for template, item in self._document["paths"].items()
            for method in item
            if method in ("get", "put", "post", "delete", "patch", "head", "options")
        }

    def has(self, method: str, path: str) -> bool:
        return self.template(method, path) is not None

    def validate_request(self, method: str, path: str, body: Any) -> None:
        """Raise ``jsonschema.ValidationError`` unless ``body`` fits the request schema."""
        template = self._require(method, path)
        pointer = ["paths", template, method.lower(), "requestBody"]
        operation = self._document["paths"][template][method.lower()]
        if "requestBody" not in operation:
            if body is not None:
                raise jsonschema.ValidationError(f"{method} {template} takes no body")
            return
        self._validate([*pointer, "content", "application/json", "schema"], body)

    def validate_response(self, method: str, path: str, status: int, body: Any) -> None:
        """Raise ``jsonschema.ValidationError`` unless ``body`` fits the documented answer."""
        template = self._require(method, path)
        responses = self._document["paths"][template][method.lower()]["responses"]
        if str(status) not in responses:
            raise jsonschema.ValidationError(f"{method} {template} documents no {status} answer")
        pointer = ["paths", template, method.lower(), "responses", str(status)]
        answer = responses[str(status)]
        if "$ref" in answer:
            pointer = answer["$ref"].removeprefix("#/").split("/")
            answer = self._resolve(pointer)
        if "content" not in answer:
            if body not in (None, b"", ""):
                raise jsonschema.ValidationError(f"{method} {template} {status} has no body")
            return
        self._validate([*pointer, "content", "application/json", "schema"], body)

    def _require(self, method: str, path: str) -> str:
        template = self.template(method, path)
        if template is None:
            raise LookupError(f"{method} {path} is not in the reference document")
        return template

    def _resolve(self, pointer: list[str]) -> Any:
        node: Any = self._document
        for part in pointer:
            node = node[part]
        return node

    def _validate(self, pointer: list[str], instance: Any) -> None:
        escaped = "/".join(part.replace("~", "~0").replace("/", "~1") for part in pointer)
        validator = jsonschema.Draft202012Validator(
            {"$ref": f"{_URI}#/{escaped}"}, registry=self._registry
        )
        validator.validate(instance)


def _nullable_as_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if converted.pop("nullable", False) is True:
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


@cache
def load_schema() -> LinqSchema | None:
    """The reference schema, read once per test session (``None`` when absent)."""
    return LinqSchema.load()

"""The JSON Schemas shipped in ``mediagrid.schemas``: loading, validating, and reading them back.

Schemas are the single source of truth for what a config may contain, including defaults: the model reads
defaults that :func:`apply_defaults` filled in from the schema instead of repeating them in Python.
``$ref`` between schema files resolves through a ``referencing`` registry built from the packaged files,
never over the network.
"""
from __future__ import annotations

import copy
import json
import re
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

if TYPE_CHECKING:
    from referencing._core import Resolver  # not re-exported by referencing; only for annotations

#: Every subschema that constrains one property, each with the resolver valid inside it.
Members = dict[str, list[tuple[dict[str, Any], "Resolver"]]]

_PACKAGE = "mediagrid.schemas"
_SUFFIX = ".schema.json"
COMMON = "app-common.schema.json"
TOPOLOGY = "topology.schema.json"


def known_apps() -> list[str]:
    """Names of the apps that have a schema in ``schemas/apps/<app>.schema.json``."""
    folder = files(_PACKAGE) / "apps"
    return sorted(f.name.removesuffix(_SUFFIX) for f in folder.iterdir() if f.name.endswith(_SUFFIX))


def app_schema_name(app: str) -> str:
    """The packaged schema file of ``app`` (one of :func:`known_apps`)."""
    return f"apps/{app}{_SUFFIX}"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A packaged schema by its file name relative to ``schemas/``."""
    return json.loads((files(_PACKAGE) / name).read_text(encoding="utf-8"))


@cache
def _registry() -> Registry:
    names = [COMMON, TOPOLOGY, *(app_schema_name(app) for app in known_apps())]
    resources = [Resource.from_contents(load_schema(n)) for n in names]
    return Registry().with_resources((r.id(), r) for r in resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A Draft 2020-12 validator for a packaged schema, built once per process."""
    return Draft202012Validator(load_schema(name), registry=_registry())


def resolver(name: str) -> Resolver:
    """A resolver whose base is the schema ``name``, for following its ``$ref``s."""
    return _registry().resolver(base_uri=load_schema(name)["$id"])


def members(schema: dict[str, Any], res: Resolver) -> tuple[Members, list[str]]:
    """Properties and property-name patterns that ``schema`` declares for one object, following ``$ref``
    and ``allOf`` the way ``unevaluatedProperties`` does; a property declared in several places (an app
    schema adding ``required`` to a common section) lists each declaration."""
    props: Members = {}
    patterns: list[str] = list(schema.get("patternProperties", {}))
    parts = [(part, res) for part in schema.get("allOf", [])]
    if "$ref" in schema:
        target = res.lookup(schema["$ref"])
        parts.append((target.contents, target.resolver))
    for part, part_res in parts:
        more, more_patterns = members(part, part_res)
        for key, decls in more.items():
            props.setdefault(key, []).extend(decls)
        patterns += more_patterns
    for key, sub in schema.get("properties", {}).items():
        props.setdefault(key, []).append((sub, res))
    return props, patterns


def matches_any(key: str, patterns: list[str]) -> bool:
    """Whether ``key`` is allowed by one of the ``patternProperties`` regexes."""
    return any(re.search(p, key) for p in patterns)


def apply_defaults(data: dict[str, Any], schema_name: str) -> dict[str, Any]:
    """A deep copy of ``data`` with every absent property that has a schema ``default`` filled in.

    The ``default`` must sit in the property's own subschema (beside any ``$ref``), where a reader of the
    schema looks for it.
    """
    filled = copy.deepcopy(data)
    _fill(filled, load_schema(schema_name), resolver(schema_name))
    return filled


def _fill(instance: dict[str, Any], schema: dict[str, Any], res: Resolver) -> None:
    for key, decls in members(schema, res)[0].items():
        for sub, sub_res in decls:
            if key not in instance and "default" in sub:
                instance[key] = copy.deepcopy(sub["default"])
            if isinstance(instance.get(key), dict):
                _fill(instance[key], sub, sub_res)

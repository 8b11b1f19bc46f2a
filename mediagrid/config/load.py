"""The config layer's entry points: load, validate and type a config file in one pass.

Every stage (YAML, ``--set``, schema, semantic checks) adds to one list of issues, so an operator sees all
problems of a file at once; only a file that cannot be read as a YAML mapping stops early.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mediagrid.config.checks import app_issues
from mediagrid.config.document import Document
from mediagrid.config.errors import ConfigError, ConfigIssue
from mediagrid.config.messages import describe, did_you_mean, schema_issues
from mediagrid.config.model import AppConfig, build_app_config
from mediagrid.config.overrides import apply_overrides
from mediagrid.config.schema import COMMON, TOPOLOGY, app_schema_name, apply_defaults, known_apps
from mediagrid.config.topology_checks import topology_issues
from mediagrid.config.yaml_loader import load_document


def load_app_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> AppConfig:
    """The app config at ``path`` with ``--set`` ``overrides`` applied; :class:`ConfigError` lists every issue."""
    doc = load_document(path)
    issues = apply_overrides(doc, overrides)
    if "app" not in doc.data and "sites" in doc.data:
        issues.append(doc.issue((), "this is a grid topology (it has 'sites:'), not an app config"))
    else:
        issues += _app_config_issues(doc)
    if issues:
        raise ConfigError(doc.sort(issues))
    app = doc.data["app"]
    return build_app_config(Path(path), apply_defaults(doc.data, app_schema_name(app)), doc.data)


def load_topology(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The validated grid topology at ``path`` as plain data; :class:`ConfigError` lists every issue."""
    doc = load_document(path)
    issues = _topology_issues(doc)
    if issues:
        raise ConfigError(issues)
    return doc.data


def load_validated(path: str | os.PathLike[str], schema_name: str,
                   checks: Callable[[Document], list[ConfigIssue]] | None = None) -> dict[str, Any]:
    """The YAML file at ``path`` as plain data, valid against the packaged schema ``schema_name``, with schema
    defaults filled in; :class:`ConfigError` lists every issue.

    For files other than app configs and topologies (traffic scenarios, say). ``checks`` adds semantic issues;
    it runs only on a schema-valid document and sees the defaults, so it need not re-check types.
    """
    doc = load_document(path)
    issues = schema_issues(doc, schema_name)
    if issues:
        raise ConfigError(doc.sort(issues))
    filled = Document(doc.file, apply_defaults(doc.data, schema_name), doc.where)
    issues = checks(filled) if checks is not None else []
    if issues:
        raise ConfigError(filled.sort(issues))
    return filled.data


def validate_file(path: str | os.PathLike[str]) -> list[ConfigIssue]:
    """All issues of the config at ``path`` (empty when valid), for ``mediagrid validate``.

    The kind of file is told by its content: a top-level ``app:`` is an app config, ``sites:`` a grid
    topology, and the keys of :data:`OTHER_KINDS` name files that their own loaders validate.
    """
    try:
        doc = load_document(path)
    except ConfigError as exc:
        return exc.issues
    if "app" in doc.data:
        return doc.sort(_app_config_issues(doc))
    if "sites" in doc.data:
        return _topology_issues(doc)
    for key, loader in OTHER_KINDS.items():
        if key in doc.data:
            module, function = loader.split(":")
            try:
                getattr(importlib.import_module(module), function)(path)
            except ConfigError as exc:
                return exc.issues
            return []
    others = "".join(f", a {key} (top-level '{key}:')" for key in OTHER_KINDS)
    return [doc.issue((), f"not a mediagrid config: expected an app config (top-level 'app:', one of "
                          f"{_listing()}), a grid topology (top-level 'sites:'){others}")]


#: top-level key -> "module:function" of the loader that validates that kind of file (imported on use:
#: those modules build on this one)
OTHER_KINDS: dict[str, str] = {
    "scenario": "mediagrid.scenarios.scenario:load_scenario",
}


def _app_config_issues(doc: Document) -> list[ConfigIssue]:
    """Issues of an app config; an unknown app is still checked against the common sections."""
    app = doc.data.get("app")
    if app in known_apps():
        return schema_issues(doc, app_schema_name(app)) + app_issues(doc, app)
    if "app" not in doc.data:
        problem = doc.issue(("app",), f"required field is missing; it names the application: one of {_listing()}",
                            key=True)
    elif isinstance(app, str):
        problem = doc.issue(("app",), f"unknown app '{app}'; known apps: {_listing()}{did_you_mean(app, known_apps())}")
    else:
        problem = doc.issue(("app",), f"expected an app name, got {describe(app)}; known apps: {_listing()}")
    return [problem, *(i for i in schema_issues(doc, COMMON) if i.field != "app"), *app_issues(doc, None)]


def _topology_issues(doc: Document) -> list[ConfigIssue]:
    return doc.sort(schema_issues(doc, TOPOLOGY) + topology_issues(doc))


def _listing() -> str:
    return ", ".join(known_apps())

"""Semantic checks of the ad insertion config that its schema cannot express: the creative and schedule files
exist, and creative ids are unique (a duplicate would silently replace the earlier entry).

Registered as ``_APP_CHECKS["ad_insertion"]`` in :mod:`mediagrid.config.checks`; like the other checks it
tolerates values of the wrong type (the schema reports those) and resolves relative paths against the
working directory.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mediagrid.config.document import Document, FieldPath
from mediagrid.config.errors import ConfigIssue


def _missing(doc: Document, path: FieldPath, value: Any) -> list[ConfigIssue]:
    if not isinstance(value, str):
        return []
    where = Path(value).expanduser()
    if where.is_file():
        return []
    problem = "is a directory; expected a file" if where.is_dir() else "file not found"
    return [doc.issue(path, f"{where.absolute()} {problem} (relative paths are resolved against the working "
                            f"directory {os.getcwd()})")]


def ad_insertion_issues(doc: Document) -> list[ConfigIssue]:
    own = doc.data.get("ad_insertion")
    if not isinstance(own, dict):
        return []
    issues = _missing(doc, ("ad_insertion", "schedule"), own.get("schedule"))
    creatives = own.get("creatives")
    first_index: dict[str, int] = {}
    for index, entry in enumerate(creatives if isinstance(creatives, list) else []):
        if not isinstance(entry, dict):
            continue
        base = ("ad_insertion", "creatives", index)
        creative_id = entry.get("id")
        if isinstance(creative_id, str):
            if creative_id in first_index:
                issues.append(doc.issue((*base, "id"), f"creative id {creative_id!r} is already used by entry "
                                                       f"{first_index[creative_id]}"))
            first_index.setdefault(creative_id, index)
        issues += _missing(doc, (*base, "path"), entry.get("path"))
        variants = entry.get("variants")
        for label, path in (variants.items() if isinstance(variants, dict) else ()):
            issues += _missing(doc, (*base, "variants", label), path)
    return issues

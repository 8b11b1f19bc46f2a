"""Cross-reference checks of a grid topology that its schema cannot express, and what a listed jurisdiction
means (:func:`jurisdiction_allowed`), which the placement policy applies with the same function."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mediagrid.config.checks import unit_issues
from mediagrid.config.document import Document
from mediagrid.config.errors import ConfigIssue
from mediagrid.config.messages import did_you_mean


SOVEREIGNTY_KINDS = ("data", "model", "logs")
#: Which jurisdiction of a site each kind of sovereignty rule applies to (absent: the site's own).
SITE_JURISDICTION_KEY = {"data": "jurisdiction", "model": "model_jurisdiction", "logs": "log_jurisdiction"}


def jurisdiction_allowed(jurisdiction: str, allowed: Iterable[str], groups: Mapping[str, Sequence[str]]) -> bool:
    """Whether ``jurisdiction`` is inside one of ``allowed``: the same code, its country (``US`` allows
    ``US-CA``), or a named group of ``groups`` that lists either."""
    country = jurisdiction.partition("-")[0]
    for entry in allowed:
        members = groups.get(entry, (entry,))
        if jurisdiction in members or country in members:
            return True
    return False


def topology_issues(doc: Document) -> list[ConfigIssue]:
    """Unit sanity, unique site and region ids, RTTs only to known sites, quotas within capacity, and no use
    case whose sovereignty rules no site can satisfy (its sessions could never be placed)."""
    sites, regions = _entries(doc, "sites"), _entries(doc, "regions")
    issues = unit_issues(doc) + _unique(doc, "sites", sites) + _unique(doc, "regions", regions)
    site_ids = [s["id"] for _, s in sites if isinstance(s.get("id"), str)]
    for index, region in regions:
        rtt = region.get("rtt_ms")
        for site in rtt if isinstance(rtt, dict) else ():
            if site not in site_ids:
                issues.append(doc.issue(("regions", index, "rtt_ms", site),
                                        f"unknown site '{site}'{did_you_mean(site, site_ids)}", key=True))
    for index, site in sites:
        quota, gpus = site.get("quota"), site.get("gpus")
        cap = quota.get("max_gpus") if isinstance(quota, dict) else None
        if isinstance(cap, int) and isinstance(gpus, int) and cap > gpus:
            issues.append(doc.issue(("sites", index, "quota", "max_gpus"),
                                    f"quota of {cap} GPUs exceeds the site's {gpus} GPUs"))
    return issues + _sovereignty_issues(doc, [s for _, s in sites])


def _sovereignty_issues(doc: Document, sites: list[dict[str, Any]]) -> list[ConfigIssue]:
    use_cases, groups = doc.data.get("use_cases"), doc.data.get("jurisdiction_groups")
    if not isinstance(use_cases, dict):
        return []
    groups = {k: v for k, v in groups.items() if isinstance(v, list)} if isinstance(groups, dict) else {}
    issues = []
    for name, use_case in use_cases.items():
        rules = use_case.get("sovereignty") if isinstance(use_case, dict) else None
        if not isinstance(rules, dict) or not all(isinstance(v, list) for v in rules.values()):
            continue
        if not any(_sovereign(site, rules, groups) for site in sites):
            issues.append(doc.issue(("use_cases", name, "sovereignty"),
                                    "no site keeps data, model and logs inside these jurisdictions; "
                                    "sessions of this use case could never be placed"))
    return issues


def _sovereign(site: dict[str, Any], rules: dict[str, list[Any]], groups: Mapping[str, Sequence[str]]) -> bool:
    for kind, allowed in rules.items():
        where = site.get(SITE_JURISDICTION_KEY.get(kind, ""), site.get("jurisdiction"))
        if not isinstance(where, str) or not jurisdiction_allowed(where, allowed, groups):
            return False
    return True


def _entries(doc: Document, name: str) -> list[tuple[int, dict[str, Any]]]:
    items = doc.data.get(name)
    return [(i, e) for i, e in enumerate(items) if isinstance(e, dict)] if isinstance(items, list) else []


def _unique(doc: Document, name: str, entries: list[tuple[int, dict[str, Any]]]) -> list[ConfigIssue]:
    first: dict[str, int] = {}
    issues = []
    for index, entry in entries:
        ident = entry.get("id")
        if not isinstance(ident, str):
            continue
        if ident in first:
            loc = doc.where.locate((name, first[ident], "id"))
            issues.append(doc.issue((name, index, "id"), f"duplicate id '{ident}'; first used at line {loc.line}"))
        else:
            first[ident] = index
    return issues

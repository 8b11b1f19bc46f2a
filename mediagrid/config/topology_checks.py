"""Cross-reference checks of a grid topology that its schema cannot express."""
from __future__ import annotations

from typing import Any

from mediagrid.config.checks import unit_issues
from mediagrid.config.document import Document
from mediagrid.config.errors import ConfigIssue
from mediagrid.config.messages import did_you_mean


def topology_issues(doc: Document) -> list[ConfigIssue]:
    """Unit sanity, unique site and region ids, RTTs only to known sites, quotas within capacity."""
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
    return issues


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

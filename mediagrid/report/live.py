"""The live feed's part of a run report: what the input, its SCTE-35 cues and the live outputs did.

Only runs with a live source or a live output carry these sections (``live``, ``hls``, ``ts_out`` in the
summary). A live run can hold every deadline and still have put stand-in frames, a late ad break or an HLS
stream without its audio on air, which the deadline verdict cannot see; so every count that means something went
wrong on air is flagged here, in the same red as a missed deadline, with one line saying what happened.

Rule (printed under the section, built from the tables below): a count is flagged when it is not zero and the
table gives it a meaning; reconnects only when the feed was lost after it had connected (retries while waiting
for the broadcaster to start are normal).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mediagrid.report.formatting import ms

#: Sections that make a run live; the report shows the section when the summary has any of them.
SECTIONS = ("live", "hls", "ts_out")

# Each table: (summary key, label, what a non-zero count means on air, or None where any number is fine).
Counts = tuple[tuple[str, str, str | None], ...]
FEED: Counts = (
    ("frames", "frames", None),
    ("audio_packets", "audio packets", None),
    ("read_errors", "read errors", "reads from the feed failed"),
    ("decode_errors", "decode errors", "pictures the decoder rejected"),
    ("frames_overrun", "overrun", "decoded pictures thrown away: the graph fell behind the feed"),
)
PLAYOUT: Counts = (
    ("played", "played", None),
    ("late_skipped", "late skipped", "pictures passed over: the node fell behind the feed's clock"),
    ("stand_ins", "stand-ins", "held pictures or slates sent because the feed had nothing due"),
    ("gaps", "gaps", "the feed stopped for longer than source.gap_ms"),
    ("discontinuities", "discontinuities", "the feed's timestamps jumped and play-out re-anchored"),
)
#: Cue outcomes in the order a break lives through them; only ``opened`` and the non-zero ones are shown.
CUES: Counts = (
    ("opened", "opened", None),
    ("immediate", "immediate", None),
    ("late", "late", "splice time already passed: the break started late"),
    ("stale", "stale", "the break was over before its cue arrived: missed"),
    ("repeated", "repeated", None),
    ("closed", "closed", None),
    ("cancelled", "cancelled", None),
    ("orphan_return", "orphan return", "returns for no known break: cues and video disagree"),
    ("cancel_unknown", "cancel unknown", "cancels for no known break"),
    ("no_return", "no return", "breaks ended by source.max_break_s: their return cue never came"),
    ("corrupt", "corrupt", "sections rejected as invalid SCTE-35"),
    ("ignored", "ignored", None),
)
AVAILS: Counts = (
    ("decided", "decided", None),
    ("fallback", "fallback", None),
    ("unfilled", "unfilled", "avails left clean: no decision in time and no fallback creative"),
    ("frames", "frames in avails", None),
)
HLS: Counts = (
    ("segments", "segments", None),
    ("frames", "frames", None),
    ("audio_packets", "audio packets", None),
    ("audio_dropped", "audio dropped", "audio packets left out: they arrived far behind the video"),
    ("break_signals", "break signals", None),
    ("break_errors", "break errors", "ad breaks the playlist could not mark"),
)
TS_OUT: Counts = (
    ("frames", "frames", None),
    ("cues_passed", "cues passed", None),
    ("cues_unplaced", "cues unplaced", "SCTE-35 sections that came before the first frame and were not passed on"),
)
_FLAGGED = (("feed", FEED), ("play-out", PLAYOUT), ("SCTE-35", CUES), ("ad avails", AVAILS), ("HLS", HLS),
            ("MPEG-TS", TS_OUT))
RULE = ("flagged when not zero: "
        + "; ".join(f"{where} " + ", ".join(label for _, label, meaning in table if meaning) for where, table in _FLAGGED)
        + "; feed reconnects when the feed was lost after it had connected")


@dataclass(frozen=True)
class Figure:
    """One number of the section, already formatted; ``warning`` says why it is flagged (None: it is fine)."""

    label: str
    value: str
    warning: str | None = None


@dataclass(frozen=True)
class Group:
    """One table of the section: a title and its numbers, in the order they are shown."""

    title: str
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class LiveReport:
    """The whole section: what was read and written (``about``), the tables, and every warning among them."""

    about: tuple[str, ...]
    groups: tuple[Group, ...]

    @property
    def warnings(self) -> list[str]:
        """One line per flagged number, in the order of the tables."""
        return [f.warning for g in self.groups for f in g.figures if f.warning]


def live_report(summary: dict[str, Any]) -> LiveReport | None:
    """The section for a run's (validated) summary; None for a run that neither read nor wrote a live stream."""
    if not any(key in summary for key in SECTIONS):
        return None
    about: list[str] = []
    groups: list[Group] = []
    if "live" in summary:
        live = summary["live"]
        fmt = live["format"]
        about.append(f"feed {live['url']} · {fmt['width']}×{fmt['height']} · {fmt['fps']:g} fps · "
                     + ("with audio" if fmt["audio"] else "no audio"))
        if live["feed"]["last_problem"]:
            about.append(f"last feed problem: {live['feed']['last_problem']}")
        groups += [Group("Feed", _feed(live["feed"])), Group("Play-out", _counts("play-out", live["playout"], PLAYOUT)),
                   Group("SCTE-35 cues", _cues(live["cues"]))]
    avails = summary.get("ads", {}).get("avails")
    if avails is not None:
        groups.append(Group("Ad avails", _avails(avails)))
    if "hls" in summary:
        hls = summary["hls"]
        about.append(f"HLS into {hls['dir']}")
        groups.append(Group("HLS output", _counts("HLS", hls, HLS)))
        latency = hls["glass_to_glass"]
        groups.append(Group("Glass to glass", tuple(Figure(f"{p} ms", ms(latency[f"{p}_ms"]))
                                                    for p in ("p50", "p99", "max"))))
    if "ts_out" in summary:
        ts_out = summary["ts_out"]
        about.append(f"MPEG-TS to {ts_out['url']}")
        groups.append(Group("MPEG-TS output", _counts("MPEG-TS", ts_out, TS_OUT)))
    return LiveReport(about=tuple(about), groups=tuple(groups))


def _count(where: str, label: str, value: int, meaning: str | None) -> Figure:
    warning = f"{where} {label}: {value:,} ({meaning})" if meaning and value else None
    return Figure(label, f"{value:,}", warning)


def _counts(where: str, section: dict[str, Any], table: Counts) -> tuple[Figure, ...]:
    """Every figure of ``table``, each flagged by the table's rule."""
    return tuple(_count(where, label, section[key], meaning) for key, label, meaning in table)


def _feed(feed: dict[str, Any]) -> tuple[Figure, ...]:
    """The feed's counts with reconnects after audio: flagged only for a feed lost after it had connected."""
    lost = max(feed["connects"] - 1, 0)
    warning = (f"feed reconnects: {feed['reconnects']:,} (the feed was lost {lost:,} time(s) after connecting)"
               if lost else None)
    figures = _counts("feed", feed, FEED)
    return (*figures[:2], Figure("reconnects", f"{feed['reconnects']:,}", warning), *figures[2:])


def _cues(cues: dict[str, Any]) -> tuple[Figure, ...]:
    """``opened`` always, the other outcomes when they happened; a corrupt count names the last bad section."""
    figures = []
    for key, label, meaning in CUES:
        if key == "opened" or cues[key]:
            if key == "corrupt" and cues["last_corrupt"]:
                meaning = f"{meaning}; last: {cues['last_corrupt']}"
            figures.append(_count("SCTE-35", label, cues[key], meaning))
    return tuple(figures)


def _avails(avails: dict[str, Any]) -> tuple[Figure, ...]:
    """How many avails got a creative (decided or fallback) of all that opened, then the counts."""
    filled = avails["decided"] + avails["fallback"]
    return (Figure("filled", f"{filled:,} of {filled + avails['unfilled']:,}"),
            *_counts("ad avails", avails, AVAILS))

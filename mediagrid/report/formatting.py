"""Number formats shared by the Markdown and HTML reports, so both always show the same digits."""
from __future__ import annotations

from mediagrid.metrics.recorder import END_TO_END

DASH = "\u2013"  # an en dash stands for "no value" (an empty series has no percentiles)


def ms(value: float | None) -> str:
    """Milliseconds with microsecond resolution: sub-millisecond stages stay readable."""
    return DASH if value is None else f"{value:.3f}"


def rate(value: float) -> str:
    return f"{value:.3%}"


def signed_ms(value: float | None, base: float | None = None) -> str:
    """A difference in ms, with the relative change when the base is known and not zero."""
    if value is None:
        return DASH
    relative = f" ({value / base:+.1%})" if base else ""
    return f"{value:+.3f}{relative}"


def signed_pp(value: float | None) -> str:
    """A difference of two rates, in percentage points (a rate's relative change says little near 0)."""
    return DASH if value is None else f"{value * 100:+.3f} pp"


def series_label(name: str) -> str:
    return "end to end" if name == END_TO_END else name


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"

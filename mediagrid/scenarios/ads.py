"""Ad-break schedule: the decisions an ad server sends ahead of each break of a live stream."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from mediagrid.scenarios.message import Message, envelope, seeded

ROLE = "ads.decisions"


def ad_breaks(seed: int, epoch_ms: int, until_s: float, *, stream_id: str, first_s: float, every_s: float,
              lead_s: float, duration_s: float, creatives: Sequence[Mapping[str, str]],
              slots: Sequence[Mapping[str, float]]) -> Iterator[Message]:
    """One decision per break, sent at ``first_s``, ``first_s + every_s``, ... before ``until_s``; the break
    starts ``lead_s`` later in the stream's presentation time (which counts from the start of the run) and
    lasts ``duration_s``. Creative and slot are drawn at random from the lists, as an auction would vary
    them."""
    rng = seeded(seed, "ads")
    key = stream_id.encode()
    n = 0
    while (at := first_s + n * every_s) < until_s:
        n += 1
        creative = rng.choice(creatives)
        value = {
            **envelope(epoch_ms, at),
            "stream_id": stream_id,
            "break_id": f"brk-{seed}-{n:05d}",
            "creative_id": creative["id"],
            "creative_uri": creative["uri"],
            "slot": dict(rng.choice(slots)),
            "start_pts_s": round(at + lead_s, 3),
            "duration_s": duration_s,
        }
        yield Message(ROLE, key, value, at)

"""Live broadcast I/O: MPEG-TS feeds in (UDP, SRT), SCTE-35 cues, HLS and MPEG-TS out, and the player page.

Sits above :mod:`mediagrid.media` (frames and codecs) and below the use cases, which read cues as ad avails and
publish their frames through it.
"""

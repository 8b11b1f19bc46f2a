"""CPU speech engines and speech media tools.

The engines (webrtcvad, faster-whisper tiny.en from a pinned wheel, Apertium, espeak-ng) serve the embedded
Riva-compatible server (:mod:`mediagrid.speech.riva_server`); the VAD also segments audio inside the live
translation graph. The media tools make spoken test clips and read a dubbed output back to measure its sync.
"""

"""Live translation, the Riva stages (ASR, translation, synthesis), each on threads of its own.

A stage hands each segment to its :class:`StageWorker`'s threads and returns at once; the worker queues
finished segments for the graph's egress operator. Every Riva call runs under the segment's deadline; a
failed, late or skipped call degrades the segment (the output then shows captions only, or passes the
original through) and is recorded, never raised.
"""
from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from xml.sax.saxutils import escape

import grpc

from mediagrid.metrics.recorder import OutcomeRecorder
from mediagrid.runtime.clock import NS_PER_S, ms_to_ns, now_ns
from mediagrid.scheduler.deadline import Action, Policy, decide
from mediagrid.speech.audio import trim_leading_silence
from mediagrid.speech.items import Batch, Segment, SegmentEvent
from mediagrid.speech.riva_calls import SpeechClient, call_deadline, grpc_failure


class StageWorker:
    """Runs a stage's calls on its own threads and queues the finished items for the graph."""

    def __init__(self, name: str, threads: int) -> None:
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix=f"mg-{name}")
        self._lock = threading.Lock()
        self._done: deque[Future] = deque()
        self._in_flight = 0
        self._ended = False
        self.on_ready: Callable[[], None] = lambda: None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self._lock:
            self._in_flight += 1
        self._executor.submit(fn, *args).add_done_callback(self._finished)

    def _finished(self, future: Future) -> None:
        with self._lock:
            self._in_flight -= 1
            self._done.append(future)
        self.on_ready()

    def end(self) -> None:
        """No more items will be submitted; once those in flight are back, the stream is over."""
        with self._lock:
            self._ended = True
        self.on_ready()

    def take(self) -> tuple[Batch | None, bool]:
        """(a Batch of the finished segments, or None; whether the stream is over). A call that raised
        re-raises here, on the scheduler thread, where the egress operator's guard turns it into a run
        failure."""
        with self._lock:
            done, self._done = list(self._done), deque()
            over = self._ended and self._in_flight == 0
        items = [f.result() for f in done]
        return (Batch(items, over) if items or over else None), over

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class _Feed:
    """One segment's audio on its way into a streaming recognition call."""

    def __init__(self) -> None:
        self.chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.chunks.get, None)

    def close(self) -> None:
        self.closed.set()
        self.chunks.put(None)


class AsrStage:
    """Streams each segment's audio to Riva while it is being spoken; the final transcript completes it.

    The call's own deadline is the longest a segment can last plus its budget; whether the transcript
    came in time for the segment is the output's decision, by the segment's deadline.
    """

    name = "asr"

    def __init__(self, client: SpeechClient, recorder: OutcomeRecorder, stream_timeout_ms: float,
                 threads: int = 3) -> None:
        self.client = client
        self.recorder = recorder
        self.stream_timeout_ns = ms_to_ns(stream_timeout_ms)
        self.worker = StageWorker(self.name, threads)
        self._feeds: dict[int, _Feed] = {}

    def accept(self, events: list[SegmentEvent]) -> None:
        for event in events:
            index = event.segment.index
            if event.opened:
                self._feeds[index] = _Feed()
                self.worker.submit(self._recognize, event.segment, self._feeds[index], now_ns())
            if len(event.pcm):
                self._feeds[index].chunks.put(event.pcm.tobytes())
            if event.closed:
                self._feeds.pop(index).close()

    def end(self) -> None:
        self.worker.end()

    def shutdown(self) -> None:
        """At the end of the graph: no segment stays open (a stream would wait for audio forever)."""
        for feed in self._feeds.values():
            feed.close()
        self.worker.shutdown()

    def _recognize(self, segment: Segment, feed: _Feed, opened_ns: int) -> Segment:
        failure, deadline_ns = None, opened_ns + self.stream_timeout_ns
        try:
            with call_deadline(deadline_ns):
                segment.transcript = self.client.recognize(feed)
        except grpc.RpcError as exc:
            failure = grpc_failure(exc)
        # a call that failed early still waits for the segment's end, which sets its deadline
        if not feed.closed.wait(max(0.0, (deadline_ns - now_ns()) / NS_PER_S)):
            raise RuntimeError(f"{segment.item_id}: the VAD never closed the segment")
        finished = now_ns()
        if failure is not None:
            segment.fail(self.name, failure)
        self.recorder.stage(self.name, segment.item_id, segment.deadline, segment.closed_ns, finished,
                            dropped=failure is not None)
        return segment


class SegmentStage:
    """A stage that makes one Riva call per segment: skipped for a segment that has already failed or has
    nothing to work on, and for one whose remaining budget does not cover the stage's estimate."""

    name = "stage"

    def __init__(self, client: SpeechClient, recorder: OutcomeRecorder, policy: Policy, estimate_ms: float) -> None:
        self.client = client
        self.recorder = recorder
        self.policy = Policy(policy)
        self.estimate_ns = ms_to_ns(estimate_ms)
        self.worker = StageWorker(self.name, 1)  # one thread: segments stay in order

    def accept(self, segments: list[Segment]) -> None:
        for segment in segments:
            self.worker.submit(self._run, segment)

    def end(self) -> None:
        self.worker.end()

    def shutdown(self) -> None:
        self.worker.shutdown()

    def wanted(self, segment: Segment) -> bool:
        raise NotImplementedError

    def call(self, segment: Segment) -> None:
        raise NotImplementedError

    def _run(self, segment: Segment) -> Segment:
        if segment.failure is not None or not self.wanted(segment):
            return segment
        started = now_ns()
        deadline = segment.deadline
        if decide(deadline.remaining_ns(started), self.estimate_ns, self.policy) is not Action.RUN:
            segment.fail(self.name, "skipped: the rest of the segment's budget is below the stage's estimate")
            self.recorder.stage(self.name, segment.item_id, deadline, started, dropped=True)
            return segment
        try:
            with call_deadline(deadline.deadline_ns):
                self.call(segment)
        except grpc.RpcError as exc:
            segment.fail(self.name, grpc_failure(exc))
            self.recorder.stage(self.name, segment.item_id, deadline, started, dropped=True)
            return segment
        self.recorder.stage(self.name, segment.item_id, deadline, started)
        return segment


class TranslateStage(SegmentStage):
    name = "translate"

    def wanted(self, segment: Segment) -> bool:
        return bool(segment.transcript)

    def call(self, segment: Segment) -> None:
        segment.translation = self.client.translate(segment.transcript)


class SynthesizeStage(SegmentStage):
    """Dubs the translation. A dub longer than its slot (the segment plus the pause that follows it) is
    spoken faster, up to ``max_speedup``, with SSML ``<prosody rate>`` as Riva reads it; what still does
    not fit is cut by the output at the next segment."""

    name = "synthesize"

    def __init__(self, *args: Any, rate: int, max_speedup: float, pause_s: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rate = rate
        self.max_speedup = max_speedup
        self.pause_s = pause_s

    def wanted(self, segment: Segment) -> bool:
        return bool(segment.translation)

    def call(self, segment: Segment) -> None:
        synthesis = self.client.synthesize(segment.translation)
        dub = trim_leading_silence(synthesis.pcm)
        slot_s = segment.end_pts_s - segment.start_pts_s + (0.0 if segment.forced_end else self.pause_s)
        speedup = min(self.max_speedup, len(dub) / self.rate / max(slot_s, 1e-3))
        if speedup > 1.01:
            percent = round(speedup * 100)
            synthesis = self.client.synthesize(
                f'<speak><prosody rate="{percent}%">{escape(segment.translation)}</prosody></speak>')
            dub, segment.dub_rate_percent = trim_leading_silence(synthesis.pcm), percent
        segment.dub, segment.first_audio_ns = dub, synthesis.first_audio_ns


"""The live translation app: VAD -> ASR -> translation -> TTS through the Riva API, laid into a delayed program.

::

    media ─audio─▶ vad ─events─▶ asr_in ⇢ asr_out ─▶ translate_in ⇢ translate_out ─▶ synthesize_in ⇢ synthesize_out
    program_out ◀─ video (media: compressed, untouched), program (vad: original audio, segments),
                   captions (translate_out), dubs (synthesize_out)

``⇢`` is a stage's worker threads (every Riva call is off the scheduler thread). With ``riva.uri:
embedded`` the app starts mediagrid's Riva-compatible CPU server for the run, on a free port and with a
random API key, and talks to it through the same ``riva.client`` calls as to NVIDIA Riva.
"""
from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from mediagrid.apps.base import MediagridApp
from mediagrid.config import AppConfig
from mediagrid.errors import UsageError
from mediagrid.runtime.bootstrap import import_holoscan
from mediagrid.runtime.clock import ms_to_ns
from mediagrid.speech.riva_calls import RivaEndpoint, SpeechClient, SpeechSettings
from mediagrid.speech.riva_server.server import RivaServer
from mediagrid.speech.clip import write_speech_clip
from mediagrid.speech.vad import VadSettings
from mediagrid.speech.items import ProgramPlan
from mediagrid.speech.program_files import CaptionPublisher, ProgramWriter, WebVttWriter
from mediagrid.speech.program_hls import HlsProgramSettings, HlsProgramWriter
from mediagrid.speech.stages import AsrStage, SynthesizeStage, TranslateStage
from mediagrid.operators.speech import VadOp
from mediagrid.operators.speech_output import DubbedProgramOp
from mediagrid.operators.speech_source import MediaSourceOp
from mediagrid.operators.speech_stages import StageInputOp
from mediagrid.operators.worker_egress import WorkerEgressOp
from mediagrid.speech.timeline import ProgramTimeline

import_holoscan()
from holoscan.schedulers import GreedyScheduler  # noqa: E402

PROGRAM_FILE = "live_translation.mp4"  # in the run directory, unless a sink section says otherwise
CAPTIONS_FILE = "captions.vtt"


class LiveTranslationApp(MediagridApp):
    DEADLINE = "segment"

    def compose(self) -> None:
        config, ctx = self.mg_config, self.ctx
        own, riva = config.sections["live_translation"], config.sections["riva"]
        vad = VadSettings(frame_ms=own["chunk_ms"], **own["vad"])
        budget_ms = config.deadlines.budgets_ms["segment"]
        _check_delay(own, vad, budget_ms)
        out_dir = ctx.out_dir or Path(tempfile.mkdtemp(prefix="mg-live-translation-"))
        media = _source_media(config, own, out_dir)
        plan = ProgramPlan(ms_to_ns(own["program_delay_ms"]), ms_to_ns(budget_ms), lead_s=vad.frame_ms / 1000)
        client = _speech_client(riva, own["program_rate"], ctx.resources)
        common = {"control": ctx.control}
        recorder, policy, rate = ctx.recorder, config.deadlines.policy, own["program_rate"]
        language = config.sections["riva"]["nmt"]["target_language"]
        source = MediaSourceOp(self, path=media, chunk_ms=own["chunk_ms"], program_rate=rate, name="media", **common)
        segmenter = VadOp(self, stream_id=config.node.id, settings=vad, plan=plan, recorder=recorder, name="vad",
                          **common)
        asr = AsrStage(client, recorder, vad.max_segment_ms + vad.end_ms + vad.pre_roll_ms + budget_ms)
        translate = TranslateStage(client, recorder, policy, own["estimates_ms"]["translate"])
        synthesize = SynthesizeStage(client, recorder, policy, own["estimates_ms"]["synthesize"], rate=rate,
                                     max_speedup=own["max_speedup"], pause_s=vad.end_ms / 1000)
        stages = {}
        for stage in (asr, translate, synthesize):
            ctx.resources.callback(stage.shutdown)  # after the graph: no recognition stream waits for audio
            stages[stage.name] = (StageInputOp(self, stage=stage, name=f"{stage.name}_in", **common),
                                  WorkerEgressOp(self, worker=stage.worker, name=f"{stage.name}_out", **common))
        make_writer = _program_writer(config, out_dir, media, rate, language)
        publisher = None
        if ctx.kafka is not None:
            publisher = CaptionPublisher(ctx.kafka.producer, ctx.kafka.topic("captions"), config.node.id, language)
        output = DubbedProgramOp(
            self, timeline=ProgramTimeline(rate, plan, own["min_cue_ms"] / 1000),
            writer=make_writer,
            vtt=WebVttWriter(out_dir / CAPTIONS_FILE), publisher=publisher, recorder=recorder,
            name="program_out", **common)
        self.add_flow(source, segmenter, {("audio", "audio")})
        self.add_flow(source, output, {("video", "video")})
        self.add_flow(segmenter, stages["asr"][0], {("events", "in")})
        self.add_flow(segmenter, output, {("program", "program")})
        self.add_flow(stages["asr"][1], stages["translate"][0], {("out", "in")})
        self.add_flow(stages["translate"][1], stages["synthesize"][0], {("out", "in")})
        self.add_flow(stages["translate"][1], output, {("out", "captions")})
        self.add_flow(stages["synthesize"][1], output, {("out", "dubs")})
        self.scheduler(GreedyScheduler(self, stop_on_deadlock=True, name="greedy"))


def _check_delay(own: dict[str, Any], vad: VadSettings, budget_ms: float) -> None:
    """A segment is due on the output program_delay after it starts; it cannot be ready before its end was
    detected and it was processed."""
    needed = vad.max_segment_ms + vad.end_ms + budget_ms
    if own["program_delay_ms"] < needed:
        raise UsageError(f"live_translation.program_delay_ms {own['program_delay_ms']:g} is too short: a "
                         f"segment of vad.max_segment_ms ({vad.max_segment_ms}) whose end is detected after "
                         f"vad.end_ms ({vad.end_ms}) and processed within deadlines.segment_ms ({budget_ms:g}) "
                         f"needs at least {needed:g}")


def _program_writer(config: AppConfig, out_dir: Path, media: Path, rate: int,
                    language: str) -> Callable[[], ProgramWriter | HlsProgramWriter | None]:
    """What makes the program's writer at start: live HLS for an hls sink, an MP4 for a file sink (PROGRAM_FILE in
    the run directory without a sink section), nothing for a null sink."""
    sink = config.sink
    if sink is not None and sink.kind == "hls":
        settings = HlsProgramSettings(sink.dir, segment_s=sink.segment_s, window=sink.window)
        return lambda: HlsProgramWriter(settings, media, rate, language)
    if sink is not None and sink.kind == "live":
        raise UsageError("sink.kind live is not supported by live_translation yet: its program is written as HLS "
                         "(sink.kind hls), a file (sink.kind file) or not at all (null)")
    path = out_dir / PROGRAM_FILE if sink is None else sink.path if sink.kind == "file" else None
    return lambda: None if path is None else ProgramWriter(path, media, rate, language)


def _source_media(config: AppConfig, own: dict[str, Any], out_dir: Path) -> Path:
    source = config.source
    if source.kind == "live":
        raise UsageError("source.kind live is not supported by live_translation yet: it reads a file "
                         "(source.kind file) or makes a synthetic speech clip (source.kind synthetic)")
    if source.loop:
        raise UsageError("source.loop is not supported by live_translation: a looped file would repeat its "
                         "timestamps; give a file as long as the run")
    if source.kind == "file":
        return source.path
    synthetic = own["synthetic"]
    path = out_dir / "source.mp4"
    write_speech_clip(path, synthetic["sentences"], gap_s=synthetic["gap_ms"] / 1000, fps=round(source.fps),
                      width=source.width, height=source.height)
    return path


def _speech_client(riva: dict[str, Any], rate: int, resources: ExitStack) -> SpeechClient:
    """The client for the configured Riva (and the embedded server, if the config asks for one), both
    closed with ``resources``: the client first, then the server."""
    if riva["uri"] == "embedded":
        server = RivaServer(api_key=secrets.token_urlsafe(24)).start()
        resources.callback(server.stop)
        endpoint = RivaEndpoint(server.uri, api_key=server.api_key)
    else:
        endpoint = RivaEndpoint(riva["uri"], use_ssl=riva["use_ssl"], ssl_root_cert=_file(riva, "ssl_root_cert"),
                                ssl_client_cert=_file(riva, "ssl_client_cert"),
                                ssl_client_key=_file(riva, "ssl_client_key"), api_key=_api_key(riva),
                                metadata=riva["metadata"])
    settings = SpeechSettings(
        asr_language=riva["asr"]["language_code"], asr_model=riva["asr"]["model"],
        source_language=riva["nmt"]["source_language"], target_language=riva["nmt"]["target_language"],
        nmt_model=riva["nmt"]["model"], tts_language=riva["tts"]["language_code"],
        tts_voice=riva["tts"]["voice_name"], sample_rate_hz=rate,
        metadata={name: riva[name]["metadata"] for name in ("asr", "nmt", "tts")})
    client = SpeechClient(endpoint, settings)
    resources.callback(client.close)
    return client


def _file(riva: dict[str, Any], key: str) -> Path | None:
    if key not in riva:
        return None
    path = Path(riva[key]).expanduser()
    if not path.is_file():
        raise UsageError(f"riva.{key}: file not found: {path.absolute()}")
    return path


def _api_key(riva: dict[str, Any]) -> str | None:
    name = riva["api_key_env"]
    if not name:
        return None
    key = os.environ.get(name)
    if not key:
        raise UsageError(f"riva.api_key_env names the environment variable {name}, which is not set; export "
                         "the Riva API key there")
    return key

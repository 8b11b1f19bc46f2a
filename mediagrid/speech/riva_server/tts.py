"""``nvidia.riva.tts.RivaSpeechSynthesis`` on libespeak-ng.

The voice is chosen by ``voice_name`` (an espeak-ng voice or language name, e.g. ``"Spanish (Latin
America)"`` or ``"es-419"``) or else by ``language_code``. SSML input (``<speak>...``) is read by espeak-ng
itself, so ``<prosody rate="130%">`` speeds a sentence up, as on Riva. Audio is LINEAR_PCM at the requested
rate (espeak-ng's native 22050 Hz when it is 0). ``SynthesizeOnline`` serves 2.28's bidirectional stream,
and from the same code 2.24's unary-stream clients too.
"""
from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
from riva.client.proto import riva_audio_pb2 as raudio
from riva.client.proto import riva_tts_pb2 as rtts
from riva.client.proto import riva_tts_pb2_grpc as rtts_srv

from mediagrid.speech.riva_server.engines import SpeechEngines
from mediagrid.speech.audio import resample
from mediagrid.speech.languages import espeak_voice

_RATES = (8_000, 96_000)
_MAX_TEXT_CHARS = 4_000
_ONLINE_CHUNK_S = 0.1


class TtsServicer(rtts_srv.RivaSpeechSynthesisServicer):
    def __init__(self, engines: SpeechEngines) -> None:
        self.engines = engines
        self._voices = {v.language: v for v in engines.synthesizer.voices}
        self._by_name = {key.lower(): v.language for v in engines.synthesizer.voices for key in (v.name, v.language)}

    def GetRivaSynthesisConfig(self, request: rtts.RivaSynthesisConfigRequest,
                               context: grpc.ServicerContext) -> rtts.RivaSynthesisConfigResponse:
        configs = [rtts.RivaSynthesisConfigResponse.Config(model_name=f"espeak-ng-{v.language}", parameters={
            "language_code": v.language, "voice_name": v.name,
            "sample_rate": str(self.engines.synthesizer.sample_rate)}) for v in self._voices.values()
            if not request.model_name or request.model_name == f"espeak-ng-{v.language}"]
        return rtts.RivaSynthesisConfigResponse(model_config=configs)

    def Synthesize(self, request: rtts.SynthesizeSpeechRequest,
                   context: grpc.ServicerContext) -> rtts.SynthesizeSpeechResponse:
        pcm = self._render(request, context)
        return rtts.SynthesizeSpeechResponse(audio=pcm.tobytes(), meta=rtts.SynthesizeSpeechResponseMetadata(
            text=request.text, processed_text=request.text), id=request.id)

    def SynthesizeOnline(self, request_iterator: Iterator[rtts.SynthesizeSpeechRequest],
                         context: grpc.ServicerContext) -> Iterator[rtts.SynthesizeSpeechResponse]:
        # espeak-ng makes a sentence in milliseconds: render it whole, then stream it in short chunks
        for request in request_iterator:
            pcm = self._render(request, context)
            step = max(1, int((request.sample_rate_hz or self.engines.synthesizer.sample_rate) * _ONLINE_CHUNK_S))
            for offset in range(0, len(pcm), step):
                yield rtts.SynthesizeSpeechResponse(audio=pcm[offset:offset + step].tobytes(), id=request.id)

    def _render(self, request: rtts.SynthesizeSpeechRequest, context: grpc.ServicerContext) -> np.ndarray:
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        if not request.text.strip():
            context.abort(invalid, "text is empty")
        if len(request.text) > _MAX_TEXT_CHARS:
            context.abort(invalid, f"text of {len(request.text)} characters is over the limit of {_MAX_TEXT_CHARS}")
        if request.encoding not in (raudio.LINEAR_PCM, raudio.ENCODING_UNSPECIFIED):
            context.abort(invalid, f"audio encoding {raudio.AudioEncoding.Name(request.encoding)} is not supported "
                                   "by this server; ask for LINEAR_PCM")
        native = self.engines.synthesizer.sample_rate
        rate = request.sample_rate_hz or native
        if not _RATES[0] <= rate <= _RATES[1]:
            context.abort(invalid, f"sample_rate_hz {rate} is outside {_RATES[0]}..{_RATES[1]}")
        voice = self._voice(request, context)
        return resample(self.engines.synthesizer.synthesize(request.text, voice), native, rate)

    def _voice(self, request: rtts.SynthesizeSpeechRequest, context: grpc.ServicerContext) -> str:
        if request.voice_name:
            voice = self._by_name.get(request.voice_name.lower())
            if voice is None:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"no voice {request.voice_name!r}; name an espeak-ng voice such as 'es-419' or "
                              "'Spanish (Latin America)', or leave voice_name empty and set language_code")
            return voice
        voice = espeak_voice(request.language_code or "en-US", self._voices)
        if voice is None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"no voice for language_code {request.language_code!r}")
        return voice

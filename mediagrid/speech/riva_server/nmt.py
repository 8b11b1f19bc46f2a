"""``nvidia.riva.nmt.RivaTranslation`` on the installed Apertium pairs.

Language codes are free text in Riva ("en", "en-US"); they are mapped by their primary subtag. The
``model`` field is accepted whatever it names (production configs name NVIDIA's models), and
``dnt_phrases`` are not honoured. The speech-to-speech/-text streaming methods are not implemented
(UNIMPLEMENTED): mediagrid chains ASR, NMT and TTS itself.
"""
from __future__ import annotations

import grpc
from riva.client.proto import riva_nmt_pb2 as rnmt
from riva.client.proto import riva_nmt_pb2_grpc as rnmt_srv

from mediagrid.speech.riva_server.engines import SpeechEngines
from mediagrid.speech.languages import apertium_pair, pair_tags

_MAX_TEXT_CHARS = 10_000


class NmtServicer(rnmt_srv.RivaTranslationServicer):
    def __init__(self, engines: SpeechEngines) -> None:
        self.engines = engines

    def _supported(self) -> str:
        return ", ".join("{}->{}".format(*pair_tags(p)) for p in self.engines.pairs)

    def TranslateText(self, request: rnmt.TranslateTextRequest,
                      context: grpc.ServicerContext) -> rnmt.TranslateTextResponse:
        if not request.source_language or not request.target_language:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "source_language and target_language are required")
        pair = apertium_pair(request.source_language, request.target_language)
        if pair not in self.engines.pairs:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"no translation from {request.source_language!r} to {request.target_language!r} on "
                          f"this server; installed: {self._supported()}")
        too_long = next((len(t) for t in request.texts if len(t) > _MAX_TEXT_CHARS), None)
        if too_long is not None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                          f"a text of {too_long} characters is over the limit of {_MAX_TEXT_CHARS}")
        translator = self.engines.translator(pair)
        return rnmt.TranslateTextResponse(
            translations=[rnmt.Translation(text=translator.translate(text), language=request.target_language)
                          for text in request.texts],
            id=request.id)

    def ListSupportedLanguagePairs(self, request: rnmt.AvailableLanguageRequest,
                                   context: grpc.ServicerContext) -> rnmt.AvailableLanguageResponse:
        languages = {}
        for pair in self.engines.pairs:
            source, target = pair_tags(pair)
            languages[f"apertium-{pair}"] = rnmt.AvailableLanguageResponse.LanguagePair(src_lang=[source],
                                                                                        tgt_lang=[target])
        return rnmt.AvailableLanguageResponse(languages=languages)

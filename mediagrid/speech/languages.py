"""Language tags as Riva clients send them (free text: "en", "en-US", "es-419") mapped onto the engines' names."""
from __future__ import annotations

from collections.abc import Iterable

# BCP 47 primary subtag <-> the ISO 639-3 codes of Apertium pair names
_APERTIUM = {"en": "eng", "es": "spa", "ca": "cat", "gl": "glg", "eu": "eus", "pt": "por", "fr": "fra",
             "it": "ita", "de": "deu", "eo": "epo", "is": "isl", "mk": "mkd"}
_BCP47 = {v: k for k, v in _APERTIUM.items()}
# regions whose Spanish espeak-ng speaks as "es-419" (Latin America) rather than "es" (Spain)
_AMERICAS = {"us", "mx", "419", "ar", "bo", "cl", "co", "cr", "cu", "do", "ec", "gt", "hn", "ni", "pa", "pe",
             "pr", "py", "sv", "uy", "ve"}


def primary(tag: str) -> str:
    """``"en-US"`` -> ``"en"``; also accepts ``"en_US"`` and ISO 639-3 codes (``"eng"`` -> ``"en"``)."""
    head = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return _BCP47.get(head, head)


def apertium_pair(source: str, target: str) -> str | None:
    """The Apertium mode name for a direction (``"en-US"``, ``"es"`` -> ``"eng-spa"``), None if unknown."""
    src, tgt = _APERTIUM.get(primary(source)), _APERTIUM.get(primary(target))
    return f"{src}-{tgt}" if src and tgt else None


def pair_tags(pair: str) -> tuple[str, str]:
    """``"eng-spa"`` -> ``("en", "es")``."""
    src, tgt = pair.split("-", 1)
    return _BCP47.get(src, src), _BCP47.get(tgt, tgt)


def espeak_voice(language_code: str, available: Iterable[str]) -> str | None:
    """The espeak-ng voice for a language tag: the exact tag if espeak has it (``"en-gb"``), Latin American
    Spanish for the Americas, else the primary language (``"de-AT"`` -> ``"de"``); None if there is none."""
    names = {name.lower(): name for name in available}
    tag = language_code.strip().replace("_", "-").lower()
    head, _, region = tag.partition("-")
    head = primary(head)
    candidates = [tag, f"{head}-{region}" if region else head]
    if head == "es" and region in _AMERICAS:
        candidates.append("es-419")
    if head == "en" and region in ("", "us"):
        candidates.append("en-us")
    candidates.append(head)
    return next((names[c] for c in candidates if c in names), None)


def iso639_2(tag: str) -> str:
    """The three-letter code that MP4 language fields hold (``"es-US"`` -> ``"spa"``; ``"und"`` if unknown)."""
    return _APERTIUM.get(primary(tag), "und")

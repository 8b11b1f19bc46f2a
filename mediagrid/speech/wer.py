"""Word error rate, for checking the recogniser against known sentences (tests and the perf script)."""
from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-case words without punctuation: what a WER compares (casing and commas are not errors)."""
    return _WORD.findall(text.lower())


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions, deletions)."""
    row = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        diagonal, row[0] = row[0], i
        for j, hyp in enumerate(hypothesis, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ref != hyp))
    return row[-1]


def word_error_rate(references: Iterable[str], hypotheses: Iterable[str]) -> float:
    """Errors over all reference words, pairing the texts in order."""
    errors = total = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref = words(reference)
        errors += edit_distance(ref, words(hypothesis))
        total += len(ref)
    return errors / total if total else 0.0

"""Language detection: a function-word fast path for clear English and German, else py3langid (with a
start-up cache for its model).

py3langid walks its byte automaton and sums a 100k x 142 table over 2,000 characters: ~0.8 ms a page alone
and 1.5 ms inside ingestion (its table is out of the CPU caches by then), as much as a tenth of what
trafilatura spends on the page. Most news text is plainly in one language: when at least
``FAST_MIN_WORDS`` words are read and at least ``FAST_MIN_SHARE`` of them are function words of English (or
German) that the other language and its neighbours do not write, and under ``FAST_MAX_OTHER`` are the
other's, the answer is that language without the detector. Everything else (other languages, short or
mixed text, tables of figures) goes to py3langid as before. Measured against py3langid alone on the
development sets (benchmarks/README-ingest.md): the fast path answers most pages and never disagreed,
except where py3langid was unsure or wrong about English copy (wire tables read as Nigerian Pidgin).

py3langid ships its model LZMA-compressed (4.6 MB -> 68 MB); decompressing it costs ~0.5 s of CPU in every
process that detects a language, i.e. in every ingestion worker. The first process writes the decompressed
arrays to ``$NEWSLAKE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/newslake`` or ``~/.cache/newslake``) under a name
keyed by the model file's size and mtime; later processes read them in ~0.1 s. The cache is derived from the
installed package only (nothing is downloaded). Any problem with it falls back to py3langid's own loader.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)
_IDENTIFIER = None
_KEYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def cache_dir() -> Path:
    """Where derived start-up caches live (read from the environment at call time)."""
    if d := os.environ.get("NEWSLAKE_CACHE_DIR"):
        return Path(d)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "newslake"


def _cached_arrays(model: Path) -> dict | None:
    import lzma

    import numpy as np

    st = model.stat()
    path = cache_dir() / f"py3langid-{st.st_size}-{int(st.st_mtime)}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out, lzma.open(model) as src:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
            os.replace(tmp, path)  # atomic: concurrent workers never see half a file
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in _KEYS}


def identifier():
    """The process-wide py3langid identifier (normalised probabilities), loaded once."""
    global _IDENTIFIER
    if _IDENTIFIER is None:
        from py3langid import modelio
        from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

        try:
            a = _cached_arrays(MODEL_DIR / MODEL_FILE)
            _IDENTIFIER = LanguageIdentifier(
                a["ptc"],
                a["pc"],
                a["classes"].tolist(),
                modelio._to_array(a["nextmove"]),
                a["out_feat"].tolist(),
                norm_probs=True,
                tk_row=modelio._to_array(a["nextmove_row"]),
            )
        except Exception as e:  # unwritable cache, another py3langid layout: the package's own loader
            log.debug("language model cache not used: %s", e)
            _IDENTIFIER = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _IDENTIFIER


SAMPLE_CHARS = 2000  # the start of the text that decides: enough for a stable answer
FAST_MIN_WORDS = 30
FAST_MIN_SHARE = 0.15
FAST_MAX_OTHER = 0.02
_WORD = re.compile(r"[^\W\d_]+")
# Function words, lower-case. English: none is a common word of German, Dutch, the Scandinavian or Romance
# languages ("of", Dutch "or", is rare next to these): no "a", "in", "is", "was", "will", "for", "her", "had".
# German: none is an English or Dutch word ("die", "in", "am", "war" are left out), none a Scandinavian one
# but "er" and "den".
_ENGLISH = frozenset(
    [
        "the",
        "and",
        "of",
        "to",
        "that",
        "with",
        "it",
        "this",
        "are",
        "from",
        "his",
        "have",
        "has",
        "but",
        "not",
        "they",
        "which",
        "were",
        "their",
        "been",
        "who",
        "would",
        "said",
        "you",
        "there",
        "after",
        "about",
        "when",
        "than",
        "its",
        "she",
        "our",
        "what",
    ]
)
_GERMAN = frozenset(
    [
        "der",
        "und",
        "den",
        "von",
        "zu",
        "das",
        "mit",
        "sich",
        "des",
        "auf",
        "für",
        "ist",
        "im",
        "dem",
        "nicht",
        "ein",
        "eine",
        "auch",
        "es",
        "werden",
        "aus",
        "er",
        "hat",
        "dass",
        "sie",
        "nach",
        "wird",
        "bei",
        "einer",
        "um",
        "sind",
        "noch",
        "wie",
        "einem",
        "über",
        "einen",
        "zum",
        "haben",
        "nur",
        "oder",
        "aber",
        "vor",
        "zur",
        "bis",
        "mehr",
        "durch",
    ]
)


def clear_language(sample: str) -> str | None:
    """ "en" or "de" when ``sample`` is plainly that language by its function words, else None (undecided)."""
    words = _WORD.findall(sample.lower())
    n = len(words)
    if n < FAST_MIN_WORDS:
        return None
    en = sum(map(_ENGLISH.__contains__, words)) / n
    de = sum(map(_GERMAN.__contains__, words)) / n
    if en >= FAST_MIN_SHARE and de < FAST_MAX_OTHER:
        return "en"
    if de >= FAST_MIN_SHARE and en < FAST_MAX_OTHER:
        return "de"
    return None


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when the text is short or the guess is unsure."""
    if len(text.strip()) < 20:
        return None
    sample = text[:SAMPLE_CHARS]
    if (lang := clear_language(sample)) is not None:
        return lang
    lang, prob = identifier().classify(sample)
    return lang if prob >= 0.5 else None

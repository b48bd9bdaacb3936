"""Language detection (py3langid) with a start-up cache for its model.

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


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s language, or None when the text is short or the guess is unsure."""
    if len(text.strip()) < 20:
        return None
    lang, prob = identifier().classify(text[:2000])  # enough for a stable answer
    return lang if prob >= 0.5 else None

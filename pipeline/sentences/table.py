"""The ``sentences`` table: documents -> sentence rows with exact offsets, sections and stable hashes."""

from __future__ import annotations

import hashlib

import polars as pl

from pipeline.schema import SENTENCES
from pipeline.sentences.split import DEFAULT_CONFIG, SegmentConfig, split_sentences

__all__ = ["segment_documents", "sentence_hash", "normalise_sentence"]

# --- hashing ------------------------------------------------------------------------------------------

# One character in, one character out: the normalised sentence has the same length as the original, so
# entity offsets cached under a hash (relative to the sentence start) stay valid for every sentence with
# that hash.  Case is kept because the tagger is case-sensitive.
_FOLD = {
    ord(c): " "
    for c in "\t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
}
_FOLD.update({ord(c): "'" for c in "‘’‚‛′"})
_FOLD.update({ord(c): '"' for c in "“”„‟″"})


def normalise_sentence(sentence: str) -> str:
    """The form that :func:`sentence_hash` hashes.

    Every whitespace character becomes a space and typographic quotes become ASCII quotes, character for
    character (so lengths and offsets are unchanged); case and everything else are kept.
    """
    return sentence.translate(_FOLD)


def sentence_hash(sentence: str) -> str:
    """Stable hex digest (blake2b, 16 bytes) of :func:`normalise_sentence` of ``sentence``, UTF-8."""
    return hashlib.blake2b(normalise_sentence(sentence).encode("utf-8"), digest_size=16).hexdigest()


# --- documents -> sentences table ---------------------------------------------------------------------


def _sections(text: str, body_start: int | None, body_end: int | None):
    """(start, end, section) regions of a document's text: headline, body, captions."""
    n = len(text)
    bs = min(max(body_start or 0, 0), n)
    be = n if body_end is None else min(max(body_end, bs), n)
    if bs > 0:
        yield 0, bs, "headline"
    yield bs, be, "body"
    if be < n:
        yield be, n, "caption"


def segment_documents(
    docs: pl.DataFrame, *, config: SegmentConfig = DEFAULT_CONFIG, language: str | None = "en"
) -> pl.DataFrame:
    """Sentences of every document, as rows of the ``sentences`` table.

    Parameters
    ----------
    docs
        Frame with at least ``doc_id``, ``pub_date``, ``text``, ``body_start`` and ``body_end`` (the
        ``documents`` layout: headline, blank line, body, then captions after ``body_end``).
    config
        Segmentation options, see :class:`SegmentConfig`.
    language
        Language of documents whose ``language`` is null, or of all documents when ``docs`` has no
        ``language`` column; otherwise each document is split with the rules for its own ``language``
        (ISO 639-1, as detected at ingestion; codes without rules get language-neutral ones).

    Returns
    -------
    pl.DataFrame
        Conformed to :data:`pipeline.schema.SENTENCES`: ``sent_idx`` counts from 0 in each document in text
        order; ``start``/``end`` are offsets into the document text and ``text`` is exactly that slice;
        ``section`` is headline, body or caption, and no sentence crosses a section; ``sent_hash`` is
        :func:`sentence_hash`. Documents with no text produce no rows.
    """
    cols: dict[str, list] = {k: [] for k in ("doc_id", "pub_date", "sent_idx", "start", "end", "text", "section")}
    langs = (
        docs["language"] if "language" in docs.columns else pl.repeat(None, docs.height, dtype=pl.String, eager=True)
    )
    rows = docs.select("doc_id", "pub_date", "text", "body_start", "body_end").iter_rows()
    for (doc_id, pub_date, text, body_start, body_end), lang in zip(rows, langs, strict=True):
        if not text:
            continue
        lang = lang or language
        idx = 0
        for r_start, r_end, section in _sections(text, body_start, body_end):
            for a, b in split_sentences(text[r_start:r_end], config=config, language=lang):
                cols["doc_id"].append(doc_id)
                cols["pub_date"].append(pub_date)
                cols["sent_idx"].append(idx)
                cols["start"].append(r_start + a)
                cols["end"].append(r_start + b)
                cols["text"].append(text[r_start + a : r_start + b])
                cols["section"].append(section)
                idx += 1
    cols["sent_hash"] = [sentence_hash(t) for t in cols["text"]]
    schema = SENTENCES.schema
    frame = pl.DataFrame(cols, schema={k: schema[k] for k in cols})
    return SENTENCES.conform(frame)

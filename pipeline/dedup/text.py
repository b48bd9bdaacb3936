"""Text normalisation for deduplication: body paragraphs, boilerplate, figures.

Normalisation (what the exact hash and the shingles see), in order:

1. the body ``text[body_start:body_end]`` (the whole text when the body is empty) is split into paragraphs
   at blank lines;
2. a leading byline paragraph ("By Jane Doe") and a leading dateline ("LONDON (Reuters) -",
   "SALVADOR, Feb 26 -", "Paris, March 3 (AFP) -") are removed, and a trailing sign-off ("Reuter",
   "(Reporting by ...; Editing by ...)") is removed from the last paragraph;
3. each paragraph is NFKC-normalised, lower-cased, every run of characters that are not letters or
   digits becomes one space, and it is stripped;
4. empty paragraphs and repeats of an earlier paragraph of the same document are dropped
   (a paragraph or caption pasted twice does not make a different document);
5. the paragraphs are joined with one space.

Figures (for the template guard) are the numbers of the paragraphs kept in step 4, taken after step 2
(so dateline dates do not count) and before step 3, each with its slot: the word before and the word
after, lower-cased: ``"arrange 1,500.5 billion"`` -> ``arrange_billion=1500.5``; ``6-3/16`` stays whole;
tokens are space-separated, in text order.

Lead names (for the learned verdict's subject check, ``pipeline.dedup.pairs``) are the capitalised words of
the first ``lead`` characters of the first kept paragraph (after step 2, before step 3) that occur at least
twice in the kept paragraphs, case-sensitive: a story's subject ("Micropolis Corp said ... , Micropolis
said"). The first paragraph only: a copy cut inside the lead goes on with another text in a paragraph of its
own, whose names are not the story's. They are returned lower-cased (step 3's folding), in order of first
occurrence.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

_SEP = "\x00"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = rf",?\s*{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?"
_AGENCY = r"\s*\([A-Za-z][A-Za-z .&-]{0,30}\)"
_DASH = r"\s*(?:--?|\u2014|\u2013)\s*"
_CAPS_PLACE = r"[A-Z][A-Z.'\-]+(?:[ /][A-Z][A-Z.'\-]+){0,4}"
_CAP_PLACE = r"[A-Z][A-Za-z.'\-]+(?: [A-Z][A-Za-z.'\-]+){0,3}"
# ALL-CAPS place with optional date and agency, or a Capitalised place followed by a date and/or an agency.
DATELINE_RE = rf"^\s*(?:{_CAPS_PLACE}(?:{_DATE})?(?:{_AGENCY})?|{_CAP_PLACE}(?:{_DATE}(?:{_AGENCY})?|{_AGENCY})){_DASH}"
_NAME = r"[A-Z][\w.'\-]*"
_NAMES = rf"{_NAME}(?:\s+{_NAME}){{0,3}}"
BYLINE_RE = rf"^\s*(?:[Bb][Yy]|From)\s+{_NAMES}(?:\s*(?:,|and|&)\s*{_NAMES})*\s*$"
_BYLINE_LINE_RE = rf"^\s*[Bb][Yy]\s+{_NAMES}[^\n]{{0,40}}\n"
SIGNOFF_RE = (
    r"(?:\s*\((?:[A-Z][a-z]+ )?(?:[Rr]eporting|[Ww]riting|[Ee]diting|[Cc]ompiled)[^()]{0,200}\))?"
    r"\s*(?:\bREUTERS?|\bReuters?)?[\s\x03]*$"
)
FIGURE_RE = r"\d+(?:[.,]\d+)*(?:-\d+/\d+)?"
# a figure with the words on either side (its slot in a template): "arrange 1.5 billion", "$1.13bn";
# digits glued to a preceding letter ("m0ney", OCR) are not figures
_FIGURE_IN_CONTEXT_RE = (
    rf"(?:([A-Za-z]+)[^A-Za-z0-9]{{1,3}}|^|[^A-Za-z0-9])({FIGURE_RE})(?:[^A-Za-z0-9]{{0,3}}([A-Za-z]+))?"
)
# a capitalised word: an upper-case letter at a word's start, then letters or digits ("MTech"; not "3Com")
NAME_RE = r"\b\p{Lu}[\p{L}\p{N}]+"


def paragraphs(docs: pl.DataFrame) -> pl.DataFrame:
    """One row per kept paragraph: ``i`` (row of ``docs``), ``raw`` (after boilerplate removal), ``norm``.

    ``docs`` needs ``text`` and, optionally, ``body_start`` / ``body_end``.
    """
    if "body_start" in docs.columns and "body_end" in docs.columns:
        start = pl.col("body_start").fill_null(0).cast(pl.Int64)
        length = (pl.col("body_end").cast(pl.Int64) - start).fill_null(-1)
        body = (
            pl.when(length > 0)
            .then(pl.col("text").str.slice(start, length.clip(lower_bound=0)))
            .otherwise(pl.col("text"))
        )
    else:
        body = pl.col("text")
    p = (
        docs.select(body.fill_null("").alias("body"))
        .with_row_index("i")
        .with_columns(pl.col("body").str.replace_all(r"\r\n?", "\n").str.replace_all(r"\n[ \t]*\n\s*", _SEP))
        .with_columns(pl.col("body").str.split(_SEP).alias("raw"))
        .drop("body")
        .explode("raw")
        .with_columns(
            pl.int_range(pl.len()).over("i").alias("k"),
            pl.len().over("i").alias("n"),
        )
    )
    raw = pl.col("raw").fill_null("")
    lead = pl.col("k") < 2
    raw = pl.when(lead & raw.str.contains(BYLINE_RE)).then(pl.lit("")).otherwise(raw)
    raw = pl.when(lead).then(raw.str.replace(_BYLINE_LINE_RE, "").str.replace(DATELINE_RE, "")).otherwise(raw)
    raw = pl.when(pl.col("k") == pl.col("n") - 1).then(raw.str.replace(SIGNOFF_RE, "")).otherwise(raw)
    p = p.with_columns(raw.alias("raw"))
    return (
        p.with_columns(_fold(p["raw"]).alias("norm"))
        .filter(pl.col("norm") != "")
        .filter(pl.col("norm").is_first_distinct().over("i"))
        .select("i", "raw", "norm")
    )


# ASCII byte map of step 3: letters lower-cased, digits kept, everything else a space; bytes >= 128
# (UTF-8 sequences of letters in other scripts) are kept
_ASCII = np.array(
    [c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c >= 128) else 32 for c in range(256)],
    dtype=np.uint8,
)


def _fold(raw: pl.Series) -> pl.Series:
    """Step 3 of the normalisation, vectorised: regexes only for the (rare) non-ASCII paragraphs."""
    raw = raw.fill_null("")
    wide = raw.str.contains(r"[^\x00-\x7F]")
    if wide.any():
        fixed = (
            raw.filter(wide).str.normalize("NFKC").str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}\x00-\x7F]+", " ")
        )
        raw = raw.scatter(np.flatnonzero(wide.to_numpy()), fixed)
    arr = raw.to_arrow().cast(pa.large_string())
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    b = _ASCII[np.frombuffer(data, dtype=np.uint8)[offs[0] : offs[-1]]] if data is not None else np.zeros(0, np.uint8)
    offs = offs - offs[0]
    # drop a space that follows a space or starts / ends its string (collapse and strip)
    starts = np.zeros(b.size + 1, dtype=bool)
    starts[offs[:-1]] = True
    sp = b == 32
    prev_sp = np.r_[True, sp[:-1]] | starts[:-1]
    keep = ~(sp & prev_sp)
    b = b[keep]
    new_offs = np.r_[0, np.cumsum(keep)][offs]
    # a trailing space remains when the string ended in spaces: remove it
    last = new_offs[1:] - 1
    trail = (new_offs[1:] > new_offs[:-1]) & (b[np.maximum(last, 0)] == 32) if b.size else np.zeros(len(arr), bool)
    if trail.any():
        keep2 = np.ones(b.size, dtype=bool)
        keep2[last[trail]] = False
        b = b[keep2]
        new_offs = np.r_[0, np.cumsum(keep2)][new_offs]
    out = pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer(new_offs.astype(np.int64)), pa.py_buffer(b))
    return pl.Series(raw.name, out, dtype=pl.String)


def normalised_frame(docs: pl.DataFrame, *, names_lead: int = 0, names_most: int = 8) -> pl.DataFrame:
    """Per row of ``docs`` (same order): ``norm_text`` and ``figures`` (space-separated, in text order); with
    ``names_lead`` > 0 also ``names``: up to ``names_most`` lead names (module docstring) of that lead."""
    paras = paragraphs(docs)
    slot = _FIGURE_IN_CONTEXT_RE
    figs = (
        paras.select("i", pl.col("raw").str.normalize("NFKC").str.extract_all(slot).alias("m"))
        .explode("m")
        .drop_nulls("m")
        .select(
            "i",
            pl.concat_str(
                pl.col("m").str.extract(slot, 1).fill_null("").str.to_lowercase(),
                pl.lit("_"),
                pl.col("m").str.extract(slot, 3).fill_null("").str.to_lowercase(),
            ).alias("slot"),
            pl.col("m").str.extract(slot, 2).str.replace_all(",", "").alias("fig"),
        )
        .select("i", pl.format("{}={}", "slot", "fig").alias("f"))
        .group_by("i", maintain_order=True)
        .agg(pl.col("f").str.join(" ").alias("figures"))
    )
    per_doc = paras.group_by("i", maintain_order=True).agg(pl.col("norm").str.join(" ").alias("norm_text"))
    out = (
        pl.DataFrame({"i": pl.Series(range(docs.height), dtype=pl.UInt32)})
        .join(per_doc, on="i", how="left", maintain_order="left")
        .join(figs, on="i", how="left", maintain_order="left")
    )
    cols = [pl.col("norm_text").fill_null(""), pl.col("figures").fill_null("")]
    if names_lead > 0:
        out = out.join(_lead_names(paras, names_lead, names_most), on="i", how="left", maintain_order="left")
        cols.append(pl.col("names").fill_null([]))
    return out.select(cols)


def _lead_names(paras: pl.DataFrame, lead: int, most: int) -> pl.DataFrame:
    """Per text ``i`` with any: its lead names (module docstring), at most ``most``."""
    names = NAME_RE
    per = paras.group_by("i", maintain_order=True).agg(
        pl.col("raw").str.join("\n").alias("body"), pl.col("raw").first().alias("first")
    )
    repeated = pl.col("body").str.extract_all(names).list.eval(pl.element().filter(pl.element().is_duplicated()))
    return per.select(
        "i",
        pl.col("first")
        .str.slice(0, lead)
        .str.extract_all(names)
        .list.unique(maintain_order=True)
        .list.set_intersection(repeated)
        .list.head(most)
        .list.eval(pl.element().str.normalize("NFKC").str.to_lowercase())
        .alias("names"),
    ).filter(pl.col("names").list.len() > 0)


def normalise(text: str) -> str:
    """Normalise a document body for the exact hash and the shingles (see the module docstring).

    Parameters
    ----------
    text : str
        Body text: paragraphs separated by blank lines.

    Returns
    -------
    str
        Lower-case letters and digits, single spaces, boilerplate and repeated paragraphs removed.
    """
    return normalised_frame(pl.DataFrame({"text": [text]}))["norm_text"][0]

"""Per-document signatures (the ``signatures`` table): exact hash, MinHash, band hashes, figures."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dedup.config import DedupConfig
from pipeline.dedup.minhash import band_hashes, minhash
from pipeline.dedup.text import normalised_frame
from pipeline.dedup.tokens import token_sketch, word_keys
from pipeline.schema import SIGNATURES, pack_le, unpack_le

_BATCH = 10_000


def exact_hash(norm_text: str) -> str | None:
    """blake2b-128 hex of the normalised text; ``None`` for an empty text (never an exact duplicate)."""
    return hashlib.blake2b(norm_text.encode(), digest_size=16).hexdigest() if norm_text else None


def compute_signatures(docs: pl.DataFrame, *, config: DedupConfig = DedupConfig()) -> pl.DataFrame:  # noqa: B008
    """Signatures of documents, one row each, in the ``SIGNATURES`` schema and in input order.

    Parameters
    ----------
    docs : pl.DataFrame
        Rows with at least ``doc_id``, ``pub_date``, ``pub_datetime``, ``text``, ``body_start``, ``body_end``.
    config : DedupConfig
        Shingle, MinHash and banding settings; signatures computed with different settings do not mix.

    Returns
    -------
    pl.DataFrame
        ``SIGNATURES`` rows (``minhash`` and ``bands`` packed, see ``pipeline.schema.pack_le``). Texts
        shorter than ``config.min_chars`` after normalisation get empty ones (exact matching only); empty
        texts get a null ``exact_hash``.
    """
    if docs.height > _BATCH:  # bounds the memory of the paragraph frames and hashing temporaries
        return pl.concat(
            [compute_signatures(docs.slice(i, _BATCH), config=config) for i in range(0, docs.height, _BATCH)]
        )
    norm = normalised_frame(docs, names_lead=config.lead_chars if config.token_count else 0)
    texts = norm["norm_text"]
    sig = minhash(texts.to_arrow(), config=config)
    bands = band_hashes(sig, config=config)
    lens = texts.str.len_chars().cast(pl.Int32)
    short = (lens < config.min_chars).to_numpy()
    k, b = config.num_perm, config.bands
    # empty lists for short texts: build flat values and offsets directly (no per-row Python)
    keep = ~short
    mh_off = np.r_[0, np.cumsum(np.where(keep, k, 0))]
    bd_off = np.r_[0, np.cumsum(np.where(keep, b, 0))]
    # band hashes as their int64 bit pattern (only equality matters), MinHash values as uint32
    mh_list = _packed(sig[keep].reshape(-1).astype(np.uint32), mh_off)
    sketches = _sketches(texts, keep, config)
    if config.token_count and config.key_ngram:
        # the word-key channel: the sketch's sampled word n-grams follow the LSH band hashes (same join)
        kh, koff = word_keys(
            sketches, n=config.key_ngram, words=config.key_words, sample=config.key_sample, seed=config.seed
        )
        nk = np.diff(koff)
        seg = np.where(keep, b, 0)
        bd_off = np.r_[0, np.cumsum(seg + nk)]
        is_key = np.zeros(int(bd_off[-1]), dtype=bool)
        is_key[np.repeat(bd_off[:-1] + seg, nk) + _ranks(nk)] = True
        flat = np.empty(is_key.size, dtype=np.uint64)
        flat[~is_key] = bands[keep].reshape(-1)
        flat[is_key] = kh
        bd_list = _packed(flat.view(np.int64), bd_off)
    else:
        bd_list = _packed(bands[keep].reshape(-1).view(np.int64), bd_off)
    out = pl.DataFrame(
        {
            "doc_id": docs["doc_id"],
            "pub_date": docs["pub_date"],
            "pub_datetime": docs["pub_datetime"],
            "text_len": lens,
            "exact_hash": pl.Series([exact_hash(t) for t in texts], dtype=pl.String),
            "bands": bd_list,
            "minhash": mh_list,
            "figures": _with_lead_numbers(_with_names(norm, config), texts, config),
            "tokens": pl.Series(sketches).cast(pl.Binary) if sketches is not None else _no_tokens(texts),
        }
    )
    return SIGNATURES.conform(out)


def band_rows(frame: pl.DataFrame, key: str, *, bands: int) -> pl.DataFrame:
    """One row ``(key, "key", "w")`` per stored band hash of ``frame``'s rows (``frame[key]`` names them, its
    dtype kept): the first ``bands`` of a row are LSH band hashes (w false), the rest word keys (w true)."""
    keys, offs = unpack_le(frame["bands"].to_arrow(), np.int64)
    counts = np.diff(offs)
    return pl.DataFrame(
        {
            key: frame[key].gather(np.repeat(np.arange(frame.height), counts)),
            "key": pl.Series(keys, dtype=pl.Int64),
            "w": pl.Series(_ranks(counts) >= bands, dtype=pl.Boolean),
        }
    )


def _sketches(texts: pl.Series, keep: np.ndarray, config: DedupConfig) -> pa.Array | None:
    """Token sketches (null for texts without MinHash, never candidates); None when the verifier is off."""
    if not config.token_count:
        return None
    sk = token_sketch(texts.to_arrow(), config.token_count, config.seed)
    return pc.if_else(pa.array(keep), sk, pa.scalar(None, pa.large_binary()))


def _no_tokens(texts: pl.Series) -> pl.Series:
    return pl.Series([None] * texts.len(), dtype=pl.Binary)


def _ranks(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c - 1 for each count c, concatenated."""
    return np.arange(int(counts.sum())) - np.repeat(np.r_[0, np.cumsum(counts)[:-1]], counts)


def _packed(values: np.ndarray, offsets: np.ndarray) -> pl.Series:
    return pl.Series(pack_le(values, offsets)).cast(pl.Binary)


MARK = "^"  # figures tokens starting with it are not figures: the lead numbers, the lead names
LEAD_TOKEN = MARK + "lead"
NAMES_TOKEN = MARK + "names"


def _with_names(norm: pl.DataFrame, config: DedupConfig) -> pl.Series:
    """Append the lead names (``pipeline.dedup.text``) to ``figures`` as one token ``^names=c1,c2,...``: each
    name's token sketch code (what ``pairs`` looks for in the other text's sketch). Only with a sketch."""
    if "names" not in norm.columns:
        return norm["figures"]
    names = norm["names"]
    flat = names.explode().drop_nulls()
    codes = np.frombuffer(token_sketch(flat.to_arrow(), 1, config.seed).buffers()[2] or b"", dtype="<u2")
    lens = names.list.len().to_numpy()
    coded = pl.Series(codes.astype(np.int64)).cast(pl.String)
    per = pl.DataFrame({"i": np.repeat(np.arange(names.len()), lens), "c": coded})
    joined = (
        pl.DataFrame({"i": np.arange(names.len())})
        .join(per.group_by("i", maintain_order=True).agg(pl.col("c").str.join(",")), on="i", how="left")
        .sort("i")["c"]
        .fill_null("")
    )
    return pl.DataFrame({"f": norm["figures"], "t": NAMES_TOKEN + "=" + joined}).select(
        pl.when(pl.col("f") == "").then(pl.col("t")).otherwise(pl.col("f") + " " + pl.col("t")).alias("figures")
    )["figures"]


def _with_lead_numbers(figures: pl.Series, texts: pl.Series, config: DedupConfig) -> pl.Series:
    """Append the lead's numbers to ``figures`` as one token ``^lead=n1,n2,...`` (lead channel only).

    The numbers are the whole digit tokens of the first ``lead_chars`` normalised characters, in text
    order (a digit run glued to letters, such as OCR's "5ome", is not one; a number cut by the end of
    the lead is left out). The template guard compares them for pairs that share only their lead.
    """
    if not config.lead_perm:
        return figures
    nums = texts.str.slice(0, config.lead_chars).str.extract_all(r"\b\d+ ").list.eval(pl.element().str.strip_chars())
    token = pl.lit(LEAD_TOKEN + "=") + nums.list.join(",")
    return pl.DataFrame({"f": figures, "n": nums}).select(
        pl.when(pl.col("f") == "").then(token).otherwise(pl.col("f") + " " + token).alias("figures")
    )["figures"]

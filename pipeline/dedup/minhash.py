"""Vectorised shingling, MinHash and LSH band hashes over normalised texts (numpy, no per-shingle Python).

All hashes are our own (splitmix64 finaliser over explicit seeds), so stored signatures stay valid across
numpy/polars versions; polars' ``hash`` is not stable across releases and is never persisted.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.lib.stride_tricks import as_strided

from pipeline.dedup.config import DedupConfig

U64 = np.uint64
EMPTY = np.uint32(0xFFFFFFFF)
_C1, _C2, _GOLD = U64(0xBF58476D1CE4E5B9), U64(0x94D049BB133111EB), U64(0x9E3779B97F4A7C15)
_CHUNK_BYTES = 1_000_000  # bounds temporaries (~10 u64 arrays of this length)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, in place on a fresh uint64 array."""
    x ^= x >> U64(30)
    x *= _C1
    x ^= x >> U64(27)
    x *= _C2
    x ^= x >> U64(31)
    return x


def _seed(*parts: int) -> U64:
    x = np.array([0], dtype=U64)
    for p in parts:
        x = mix64(x ^ mix64(np.array([p & 0xFFFFFFFFFFFFFFFF], dtype=U64)))
    return x[0]


def _char_hashes(buf: np.ndarray, offs: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, ...]:
    """Hash of every k-byte window inside each document; returns (doc index, hash, byte offset in the doc).

    Hashes every byte position of the chunk with contiguous array operations, then keeps the windows
    that end inside their document (cheaper than gathering only the valid positions).
    """
    n = int(offs[-1])
    words = as_strided(buf, (buf.size - 7, 8), (1, 1)).view("<u8")[:, 0]
    h = np.full(n, _seed(seed, k), dtype=U64)
    for j in range(0, k, 8):
        w = words[j : j + n].copy()
        if k - j < 8:
            w &= U64((1 << (8 * (k - j))) - 1)
        w *= _seed(seed, k, j) | U64(1)
        h ^= w
    h = mix64(h)
    lens = np.diff(offs)
    end = np.repeat(offs[1:], lens)
    ok = np.arange(n) + k <= end
    doc = np.repeat(np.arange(lens.size), lens)
    pos = np.arange(n) - np.repeat(offs[:-1], lens)
    return doc[ok], h[ok], pos[ok]


def _word_hashes(buf: np.ndarray, offs: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, ...]:
    """Hash of every word n-gram (texts are single-space separated tokens): (doc, hash, byte offset)."""
    nbuf = buf[: offs[-1]]
    is_sp = nbuf == 32
    starts_mask = ~is_sp
    starts_mask[1:] &= is_sp[:-1] | np.isin(np.arange(1, nbuf.size), offs[1:-1])
    starts = np.flatnonzero(starts_mask)
    if starts.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, U64), np.zeros(0, np.int64)
    tok_doc = np.searchsorted(offs, starts, side="right") - 1
    # token hash: sum of per-byte hashes salted with the position in the token (wrapping uint64 sum)
    tok_of_byte = np.cumsum(starts_mask) - 1
    keep = ~is_sp
    bi = np.flatnonzero(keep)
    rel = bi - starts[tok_of_byte[bi]]
    v = mix64(nbuf[bi].astype(U64) | (rel.astype(U64) << U64(8)) ^ U64(_seed(seed, 77)))
    tok = np.add.reduceat(v, np.searchsorted(bi, starts)) if bi.size else np.zeros(0, U64)
    tok = mix64(tok)
    if tok.size < n:
        return np.zeros(0, np.int64), np.zeros(0, U64), np.zeros(0, np.int64)
    m = tok.size - n + 1
    ok = tok_doc[:m] == tok_doc[n - 1 :]
    h = np.full(m, _seed(seed, 1000 + n), dtype=U64)
    for j in range(n):
        h = mix64(h ^ tok[j : j + m])
    doc = tok_doc[:m][ok]
    return doc, h[ok], starts[:m][ok] - offs[doc]


def _densify(sig: np.ndarray) -> np.ndarray:
    """Fill empty OPH bins from the next non-empty bin to the right (circular), salted by the distance."""
    empty = sig == EMPTY
    rows = np.flatnonzero(empty.any(1) & ~empty.all(1))
    if rows.size == 0:
        return sig
    s = sig[rows]
    k = s.shape[1]
    dbl = np.concatenate([s, s], axis=1)
    idx = np.where(dbl != EMPTY, np.arange(2 * k), 2 * k)
    nxt = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1][:, :k]
    val = np.take_along_axis(dbl, nxt, axis=1).astype(U64)
    dist = (nxt - np.arange(k)).astype(U64)
    filled = (mix64(val * _GOLD + dist) >> U64(32)).astype(np.uint32)
    sig[rows] = np.where(s == EMPTY, filled, s)
    return sig


def _minhash_chunk(texts: pa.LargeStringArray, config: DedupConfig) -> np.ndarray:
    kind, size = config.shingle_kind
    offs = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    data = texts.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[offs[0] : offs[-1]] if data is not None else np.zeros(0, np.uint8)
    buf = np.concatenate([raw, np.zeros(40, np.uint8)])
    offs = offs - offs[0]
    fn = _char_hashes if kind == "char" else _word_hashes
    doc, h, _ = fn(buf, offs, size, config.seed)
    k, lead = config.num_perm - config.lead_perm, config.lead_perm
    sig = np.full((len(texts), config.num_perm), EMPTY, dtype=np.uint32)
    sig[:, :k] = _slots(doc, h, len(texts), k, config)
    if lead:
        # the lead: the first lead_chars bytes of each text, shingled with lead_shingle bytes (shorter
        # shingles survive OCR noise better; salted: other bins and values than the whole text's)
        lens = np.minimum(np.diff(offs), config.lead_chars)
        loffs = np.r_[0, np.cumsum(lens)]
        take = np.repeat(offs[:-1], lens) + np.arange(loffs[-1]) - np.repeat(loffs[:-1], lens)
        lbuf = np.concatenate([buf[take], np.zeros(40, np.uint8)])
        ldoc, lh, _ = _char_hashes(lbuf, loffs, config.lead_shingle, config.seed + 4242)
        sig[:, k:] = _slots(ldoc, lh, len(texts), lead, config)
    return sig


def _slots(doc: np.ndarray, h: np.ndarray, n: int, k: int, config: DedupConfig) -> np.ndarray:
    sig = np.full((n, k), EMPTY, dtype=np.uint32)
    if config.scheme == "oph":
        b = ((h >> U64(32)) * U64(k)) >> U64(32)  # multiply-high: uniform bin in [0, k)
        np.minimum.at(sig.reshape(-1), doc * k + b.astype(np.int64), (h & U64(0xFFFFFFFF)).astype(np.uint32))
        return _densify(sig)
    if doc.size:
        firsts = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]])
        rows = doc[firsts]
        for p in range(k):
            a, c = _seed(config.seed, 2 * p + 11) | U64(1), _seed(config.seed, 2 * p + 12)
            v = ((h * a + c) >> U64(32)).astype(np.uint32)
            sig[rows, p] = np.minimum.reduceat(v, firsts)
    return sig


def minhash(texts: list[str] | pa.Array, *, config: DedupConfig) -> np.ndarray:
    """MinHash signatures, shape ``(len(texts), num_perm)``, uint32; all-``EMPTY`` rows for empty texts."""
    arr = pa.array(texts, type=pa.large_string()) if not isinstance(texts, pa.Array) else texts
    arr = arr.cast(pa.large_string())
    out = np.empty((len(arr), config.num_perm), dtype=np.uint32)
    lens = np.asarray(pa.compute.binary_length(arr).fill_null(0), dtype=np.int64)
    bounds = np.searchsorted(np.cumsum(lens), np.arange(_CHUNK_BYTES, lens.sum() + _CHUNK_BYTES, _CHUNK_BYTES))
    start = 0
    for stop in np.unique(np.r_[bounds + 1, len(arr)]):
        stop = int(min(max(stop, start + 1), len(arr)))
        if start >= stop:
            continue
        out[start:stop] = _minhash_chunk(arr.slice(start, stop - start).fill_null(""), config)
        start = stop
    return out


def band_hashes(sig: np.ndarray, *, config: DedupConfig) -> np.ndarray:
    """One uint64 per band, shape ``(n, bands)``; the band index is mixed in, so a hash names its band."""
    n = sig.shape[0]
    v = sig.reshape(n, config.bands, config.rows).astype(U64)
    h = np.broadcast_to(np.array([_seed(config.seed, 5000 + b) for b in range(config.bands)], U64), (n, config.bands))
    h = h.copy()
    for r in range(config.rows):
        h = mix64(h ^ (v[:, :, r] * _GOLD))
    return h

"""Token sketch (the ``tokens`` column of ``signatures``) and the second-stage verifier of candidate pairs.

The sketch is the sequence of the first ``token_count`` words of the normalised text, each a 16-bit hash
whose two lowest bits say what it is: 0 a word, 1 a one-digit number, 3 a longer number. It is stored as
bytes (2 per word, little-endian: Delta has no unsigned integers) and read only for candidate pairs, so
a day's duplicates still depend only on the ``signatures`` of its window.

The verifier compares two sketches word by word: word ``i`` of the shorter one *matches* when the other
has it at a position ``i + d``, ``|d| <= band`` (OCR splits and drops words, sub-editors swap them, a
dateline or byline shifts the start). The *matched prefix* is the longest start of the shorter sketch
of which at least ``ratio`` of the words match: a copy that keeps the first 30-60 % of a story, with
2-5 % of its letters corrupted or some words replaced, matches most of its words up to where the copied
part ends; the text appended after it, and unrelated texts, match a few common words. Its *number check*
compares the figures found between the same words in both texts (see ``_number_conflicts``): a template
story has other figures there, a copy keeps them (noise garbles letters, not digits).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.dedup.minhash import _GOLD as GOLD
from pipeline.dedup.minhash import U64, _seed, mix64
from pipeline.schema import unpack_le

# The verifier works on int16 views of the uint16 codes (half the memory traffic of int32). A code's two
# lowest bits are never 2 (0 word, 1 one-digit number, 3 longer number), so values ending in binary 10 are
# free: the padding of the two sides, never equal to each other or to a token, and the places
# _number_conflicts looks at around a sketch and outside one
PAD_A, PAD_B = -2, -6  # 0xFFFE, 0xFFFA
_OUTSIDE, _NOWHERE = -10, -14  # 0xFFF6, 0xFFF2
_NO_CODE = 2  # low bits of every value above


def token_sketch(texts: pa.Array, count: int, seed: int) -> pa.LargeBinaryArray:
    """Per text: the first ``count`` words as uint16 hashes (low bits: the number kind), little-endian."""
    arr = texts.cast(pa.large_string()).fill_null("")
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8)[offs[0] : offs[-1]] if data is not None else np.zeros(0, np.uint8)
    offs = offs - offs[0]
    n = len(arr)
    is_sp = raw == 32
    start = ~is_sp
    doc_start = np.zeros(raw.size, dtype=bool)
    doc_start[offs[1:-1][offs[1:-1] < raw.size]] = True
    start[1:] &= is_sp[:-1] | doc_start[1:]
    starts = np.flatnonzero(start)
    # the first `count` tokens of each document: only their bytes are looked at (each document's bytes
    # up to the start of its token `count`, or its end)
    first_tok = np.searchsorted(starts, offs)  # tokens of document d: first_tok[d] .. first_tok[d + 1]
    ntok = np.minimum(np.diff(first_tok), count)
    cut = np.where(
        np.diff(first_tok) > count, starts[np.minimum(first_tok[:-1] + count, max(starts.size - 1, 0))], offs[1:]
    )
    span = cut - offs[:-1]
    ix = np.int32 if raw.size < 2**31 else np.int64  # byte positions (half the memory traffic of int64)
    pos = np.arange(int(span.sum()), dtype=ix) + np.repeat(
        (offs[:-1] - np.r_[0, np.cumsum(span)[:-1]]).astype(ix), span
    )
    bi = pos[~is_sp[pos]]
    is_first = start[bi]
    first = np.flatnonzero(is_first)  # index in bi of each kept token's first byte
    tok = np.cumsum(is_first, dtype=ix) - 1
    rel = np.arange(bi.size, dtype=ix) - first.astype(ix)[tok] if bi.size else np.zeros(0, ix)
    v = mix64((raw[bi].astype(U64) | (rel.astype(U64) << U64(8))) ^ U64(_seed(seed, 91)))
    h = mix64(np.add.reduceat(v, first)) if bi.size else np.zeros(0, U64)
    digit = (raw[bi] >= 48) & (raw[bi] <= 57)
    length = np.diff(np.r_[first, bi.size])
    # leading digits of each token; a number is all digits, or >= 2 digits with a unit of <= 2 letters
    # glued to them ("800m", "10th", "50s"); one digit then letters is a word (OCR's "5ome")
    lead = np.minimum.reduceat(np.where(digit, 1 << 20, rel), first) if bi.size else length
    lead = np.minimum(lead, length)
    isnum = ((lead == length) | ((lead >= 2) & (length - lead <= 2))).astype(np.uint16)
    multi = isnum & (length > 1).astype(np.uint16)
    code = ((h >> U64(48)).astype(np.uint16) & np.uint16(0xFFFC)) | isnum | (multi << np.uint16(1))
    bounds = 2 * np.r_[0, np.cumsum(ntok)].astype(np.int64)
    return pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(bounds), pa.py_buffer(code.astype("<u2").tobytes())]
    )


def word_keys(sketches: pa.Array, *, n: int, words: int, sample: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Candidate keys of the token sketches: word ``n``-grams of the first ``words`` words, sampled.

    An n-gram of word hashes is kept when its own hash falls in 1 of ``sample`` classes (content-defined:
    two texts keep the same n-grams of what they share, whatever surrounds it, so a copy that keeps only
    the start of a story keeps the keys of that start). Returns ``(keys, offsets)``: per sketch ``i`` its
    distinct keys ``keys[offsets[i]:offsets[i + 1]]`` (uint64, sorted). Null sketches have none.
    """
    arr = sketches.cast(pa.large_binary())
    cnt = len(arr)
    offs = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset : arr.offset + cnt + 1] // 2
    data = arr.buffers()[2]
    codes = np.frombuffer(data, dtype="<u2")[offs[0] : offs[-1]] if data is not None else np.zeros(0, "<u2")
    offs = offs - offs[0]
    if arr.null_count:
        valid = np.asarray(arr.is_valid())
        lens = np.where(valid, np.diff(offs), 0)
    else:
        lens = np.diff(offs)
    # the first `words` codes of each sketch, one flat array
    take = np.minimum(lens, words)
    doc = np.repeat(np.arange(cnt), take)
    pos = np.arange(int(take.sum())) - np.repeat(np.r_[0, np.cumsum(take)[:-1]], take)
    c = codes[offs[:-1][doc] + pos].astype(U64) if doc.size else np.zeros(0, U64)
    m = c.size - n + 1
    if m <= 0:
        return np.zeros(0, U64), np.zeros(cnt + 1, np.int64)
    h = np.full(m, _seed(seed, 777, n), dtype=U64)
    for j in range(n):
        h = mix64(h ^ (c[j : j + m] * GOLD))
    ok = (doc[:m] == doc[n - 1 :]) & ((h >> U64(40)) % U64(sample) == 0)
    kd, kh = doc[:m][ok], h[ok]
    order = np.lexsort((kh, kd))
    kd, kh = kd[order], kh[order]
    first = np.r_[True, (kd[1:] != kd[:-1]) | (kh[1:] != kh[:-1])] if kd.size else np.zeros(0, bool)
    kd, kh = kd[first], kh[first]
    return kh, np.r_[0, np.cumsum(np.bincount(kd, minlength=cnt))].astype(np.int64)


def unpack(sketches: list[bytes], width: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Sketches as an int16 matrix ``(n, width)`` (the uint16 codes' bits) padded with ``pad``, and their lengths."""
    return gather(*sketch_codes(pa.array(sketches, type=pa.large_binary())), width, pad)


def sketch_codes(sketches: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sketches' codes concatenated (int16 views, as ``unpack`` gives them), each one's first index
    and its word count (0 for a null sketch)."""
    codes, offs = unpack_le(sketches, np.int16)
    return codes.copy(), offs[:-1], np.diff(offs)


def gather(
    codes: np.ndarray, starts: np.ndarray, words: np.ndarray, width: int, pad: int
) -> tuple[np.ndarray, np.ndarray]:
    """``unpack`` of sketches given as ``sketch_codes`` rows (first index and word count of each)."""
    kept = np.minimum(words, width)
    out = np.full((starts.size, width), pad, dtype=np.int16)
    total = int(kept.sum())
    if total:
        at = np.arange(total) + np.repeat(starts - np.r_[0, np.cumsum(kept)[:-1]], kept)
        out[np.arange(width) < kept[:, None]] = codes[at]  # row-major: each row's first words, in order
    return out, kept


def _oriented(a, b, la, lb):
    """Each pair as (shorter sketch, longer sketch, shorter length), their paddings made unequal so padding
    never matches padding."""
    swap = np.flatnonzero(la > lb)
    s, t = a.copy(), b.copy()
    s[swap], t[swap] = b[swap], a[swap]
    s[s == PAD_B] = PAD_A
    t[t == PAD_A] = PAD_B
    return s, t, np.minimum(la, lb)


def verify(
    a: np.ndarray,
    la: np.ndarray,
    b: np.ndarray,
    lb: np.ndarray,
    *,
    band: int,
    ratio: float,
    min_words: int = 0,
    min_share: float = 0.0,
    hits: list[np.ndarray] | None = None,
    digits: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Second-stage scores of aligned sketch pairs (``a`` padded with ``PAD_A``, ``b`` with ``PAD_B``).

    Returns, per pair: the matched prefix (words of the shorter sketch, see the module docstring), the
    words matched in it, the numbers of both texts whose place in the other is known (checked), those
    of them not found there (conflicts, see ``_number_conflicts``), and the match rate of the shorter
    sketch after its matched prefix (low when the rest is appended unrelated text). The numbers are
    checked only for pairs whose matched prefix has at least ``min_words`` words and ``min_share`` of
    the shorter sketch (else 0 and 0); ``digits``: see ``_number_conflicts``. ``hits``, when given,
    receives the words of the shorter sketches that match (for ``dense_prefix`` on some of the same pairs).
    """
    s, t, ls = _oriented(a, b, la, lb)
    n, w = s.shape
    hit = _hits(s, t, band)
    if hits is not None:
        hits.append(hit)
    cm = np.cumsum(hit, 1, dtype=_small(w))
    pos = np.arange(1, w + 1)
    # (counts are integers: cm >= ratio * pos exactly when cm >= ceil(ratio * pos), no float pass)
    good = (cm >= np.ceil(ratio * pos).astype(cm.dtype)) & (pos <= ls[:, None])
    lm = np.where(good.any(1), w - np.argmax(good[:, ::-1], 1), 0)
    matched = cm[np.arange(n), np.maximum(lm - 1, 0)] * (lm > 0)
    # the number check only where the matched prefix can make a duplicate (most candidates stop here)
    chk = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=np.int64)
    sel = np.flatnonzero((lm >= min_words) & (lm >= min_share * ls))
    if sel.size:
        chk_s, bad_s = _number_conflicts(s[sel], t[sel], band, digits=digits)
        chk_t, bad_t = _number_conflicts(t[sel], s[sel], band, digits=digits)
        chk[sel], bad[sel] = chk_s + chk_t, bad_s + bad_t
    # match rate of the shorter sketch after its matched prefix (an appended unrelated part: low)
    total = cm[np.arange(n), np.maximum(ls - 1, 0)] * (ls > 0)
    tail = (total - matched) / np.maximum(ls - lm, 1)
    return lm, matched.astype(np.int64), chk, bad, tail


def _small(w: int) -> type[np.signedinteger]:
    """Integer type for word positions and counts of sketches ``w`` words wide (int16: half the memory
    traffic of int32; with room for ``w + 1`` and the like)."""
    return np.int16 if w < 2**14 else np.int32


def _hits(s: np.ndarray, t: np.ndarray, band: int) -> np.ndarray:
    """Per word of ``s``: does ``t[i + d] == s[i]`` for some ``|d| <= band``?"""
    n, w = s.shape
    hit = s == t
    eq = np.empty_like(hit)  # one buffer for every shift
    for d in range(1, min(band, w - 1) + 1):
        np.equal(s[:, : w - d], t[:, d:], out=eq[:, : w - d])
        hit[:, : w - d] |= eq[:, : w - d]
        np.equal(s[:, d:], t[:, : w - d], out=eq[:, d:])
        hit[:, d:] |= eq[:, d:]
    return hit


def _number_conflicts(s: np.ndarray, t: np.ndarray, band: int, *, digits: bool) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of ``s`` whose place in ``t`` is known (checked), and those not found there (conflicts).

    A run of numbers in ``s`` ("6 3 8", "129") has its place in ``t`` when it is *anchored*: the words
    just before and just after the run occur in ``t`` at offsets ``d`` and ``d2`` (``|d| <= band``,
    ``0 <= d2 - d <= 2``: the run may have another length there), or the two words before it (or the
    two after it) occur at one offset ``d``, or one of them does and ``t`` has a number at the aligned
    place. A number of an anchored run is a conflict when ``t`` has no equal token in that place
    (``i + d - 1 .. i + d2 + 1``). A template story has other figures between the
    same words; a copy keeps them (noise garbles letters, not digits). Lone one-digit numbers between
    words are left out (OCR turns letters such as "s" or "l" into digits); with ``digits``, one whose
    anchored place in ``t`` holds another digit is a conflict (and counted as checked; an equal one is
    not counted at all).
    """
    n, w = s.shape
    kind = s & 3
    kind[kind == _NO_CODE] = 0  # padding and the places outside are neither words nor numbers
    word = (s & 3) == 0
    cols = np.arange(w, dtype=_small(w))
    prev = np.maximum.accumulate(np.where(word, cols, -1), axis=1)  # last word at or before i
    nxt = np.minimum.accumulate(np.where(word, cols, w)[:, ::-1], axis=1)[:, ::-1]  # first word at or after i
    near_num = np.zeros(kind.shape, dtype=bool)
    near_num[:, 1:] |= kind[:, :-1] != 0
    near_num[:, :-1] |= kind[:, 1:] != 0
    num = ((kind == 3) | ((kind == 1) & near_num)) & (prev >= 0) & (nxt < w)
    # sparse: only the numbers' positions (a few % of the words) are looked at
    r, c = np.nonzero(num)
    pi, ni = prev[r, c], nxt[r, c]
    pi2 = np.where(pi > 0, prev[r, np.maximum(pi - 1, 0)], -1)  # the word before the previous one
    ni2 = np.where(ni + 1 < w, nxt[r, np.minimum(ni + 1, w - 1)], w)  # the word after the next one
    # t with `lo` columns of _OUTSIDE before and `hi` after: every aligned place looked at below
    # (i in [-1, w], d in [-band - 1, band + 3]) is inside, and outside t equals no word of s
    lo, hi = band + 2, band + 4
    wp = lo + w + hi
    tp = np.full((n, wp), _OUTSIDE, dtype=np.int16)
    tp[:, lo : lo + w] = t
    tflat = tp.ravel()
    t_num = (tflat & 1) != 0  # (low bits 1 or 3)
    sflat = s.ravel()
    base = r * wp + lo  # t[r, j] is tflat[base + j]

    def at(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # positions of s and their values (_NOWHERE outside)
        ok = (i >= 0) & (i < w)
        return i, np.where(ok, sflat[r * w + np.clip(i, 0, w - 1)], _NOWHERE)

    def eq(p: tuple[np.ndarray, np.ndarray], d: int) -> np.ndarray:  # s[r, i] == t[r, i + d]
        i, v = p
        return v == tflat[base + i + d]

    def t_is_num(d: int) -> np.ndarray:
        return t_num[base + c + d]

    p_c, p_pi, p_pi2, p_ni, p_ni2 = at(c), at(pi), at(pi2), at(ni), at(ni2)
    checked = np.zeros(r.size, dtype=bool)
    found = np.zeros(r.size, dtype=bool)
    same = {d: eq(p_c, d) for d in range(-band - 1, band + 4)}
    at_n = {d: eq(p_ni, d) for d in range(-band, band + 3)}
    for d in range(-band, band + 1):
        at_p = eq(p_pi, d)
        if at_p.any():
            # one side anchored by its two words, or by one word with a number at the aligned place
            # of the other text: the run starts at the same offset
            ok = at_p & ((eq(p_pi2, d) & (pi2 == pi - 1)) | t_is_num(d))
            here = same[d - 1] | same[d] | same[d + 1]
            checked |= ok
            found |= ok & here
            for d2 in range(d, d + 3):
                # both sides anchored: the run may have another length there
                here = here | same[d2 + 1]
                ok = at_p & at_n[d2]
                checked |= ok
                found |= ok & here
        ok = at_n[d] & ((eq(p_ni2, d) & (ni2 == ni + 1)) | t_is_num(d))
        checked |= ok
        found |= ok & (same[d - 1] | same[d] | same[d + 1])
    chk_n, bad_n = np.bincount(r[checked], minlength=n), np.bincount(r[checked & ~found], minlength=n)
    if digits:
        # a lone one-digit number facing another digit ("Baa-3" / "Baa-2", "May 6" / "May 9"): noise turns
        # letters into digits, never a digit into another, so only a different digit there is a conflict
        lone = (kind == 1) & ~near_num & (prev >= 0) & (nxt < w)
        r, c = np.nonzero(lone)  # (at, eq and t_is_num read r, c and base: rebound for these positions)
        if r.size:
            pi, ni = prev[r, c], nxt[r, c]
            base = r * wp + lo
            p_c, p_pi, p_ni = at(c), at(pi), at(ni)
            checked = np.zeros(r.size, dtype=bool)
            found = np.zeros(r.size, dtype=bool)
            for d in range(-band, band + 1):
                ok = (eq(p_pi, d) | eq(p_ni, d)) & t_is_num(d)
                checked |= ok
                found |= ok & eq(p_c, d)
            # (counted only when they differ: an equal date says little, and would let rewrites of one
            # event pass as number-checked)
            differ = np.bincount(r[checked & ~found], minlength=n)
            chk_n += differ
            bad_n += differ
    return chk_n, bad_n


def shared_numbers(
    a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray, lm: np.ndarray, band: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-digit numbers of the aligned region of sketch pairs, and how many of them both texts have.

    The region is the matched prefix ``lm`` of the shorter sketch and its first ``lm + band`` words in
    the longer one (see ``verify``). Returns, per pair, the numbers of the shorter and of the longer
    text there and their common count (as multisets of values, wherever they stand: noise garbles the
    words around a number, not its digits). A copy keeps the numbers of what it copies; a template
    story with the same words has its own values.
    """
    swap = la > lb
    s, t = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    n, w = s.shape
    cols = np.arange(w)

    def values(x: np.ndarray, end: np.ndarray) -> np.ndarray:  # sorted keys (row, value) of the region
        r, c = np.nonzero(((x & 3) == 3) & (cols < end[:, None]))
        return np.sort(r.astype(np.int64) << 16 | x[r, c].view(np.uint16).astype(np.int64))

    ks, kt = values(s, lm), values(t, lm + band)
    us, cs = _distinct(ks, counts=True)
    ut, ct = _distinct(kt, counts=True)
    common, i_s, i_t = np.intersect1d(us, ut, assume_unique=True, return_indices=True)
    nc = np.bincount(common >> 16, weights=np.minimum(cs[i_s], ct[i_t]), minlength=n).astype(np.int64)
    return np.bincount(ks >> 16, minlength=n), np.bincount(kt >> 16, minlength=n), nc


def dense_prefix(
    a: np.ndarray,
    la: np.ndarray,
    b: np.ndarray,
    lb: np.ndarray,
    *,
    band: int,
    window: int,
    least: int,
    hit: np.ndarray | None = None,
    digits: bool = False,
    numbers: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where the dense match of sketch pairs ends, how much of the rest matches, and its numbers.

    The matched prefix of ``verify`` is the longest start matching at least ``ratio``: a copy that keeps
    60 % of a story matches it to the end. Here the *dense end* ``e`` is the last matched word of the
    shorter sketch's last window of ``window`` words with at least ``least`` matches; the *tail rate* is
    the match rate of the shorter sketch after ``e`` (a partial copy followed by an unrelated brief:
    chance matches of common words; another version of a template: its words keep matching). Returns
    per pair ``e``, the tail rate, the numbers checked and conflicting in the first ``e`` words (the
    number check of ``verify`` on the dense region only, see ``_number_conflicts``), ``shared_numbers``
    of that region, and the matches among the first ``window`` words (a partial copy starts where its
    original starts; formulaic notices of two companies differ in their first words, the names).
    Without ``numbers`` the four number counts are zeros (they cost most of the time).
    """
    s, t, ls = _oriented(a, b, la, lb)
    n, w = s.shape
    hit = _hits(s, t, band) if hit is None else hit
    cs = np.zeros((n, w + 1), dtype=_small(w))  # (counts of at most w words)
    np.cumsum(hit, 1, dtype=cs.dtype, out=cs[:, 1:])
    rows = np.arange(n)
    e = np.zeros(n, dtype=np.int64)
    if w >= window:
        starts = np.arange(w - window + 1)
        dense = ((cs[:, window:] - cs[:, :-window]) >= least) & (starts + window <= ls[:, None])
        has = dense.any(1)
        last = np.where(has, w - window - np.argmax(dense[:, ::-1], 1), 0)
        inwin = hit[rows[:, None], last[:, None] + np.arange(window)]  # the last dense window's matches
        e = np.where(has, last + window - np.argmax(inwin[:, ::-1], 1), 0)
    rest = ls - e
    tail = (cs[rows, ls] - cs[rows, e]) / np.maximum(rest, 1)
    start = cs[:, min(window, w)].astype(np.int64)
    if not numbers:
        zero = np.zeros(n, dtype=np.int64)
        return e, tail, zero, zero, zero, zero, zero, start
    cols = np.arange(w)
    s2 = np.where(cols < e[:, None], s, PAD_A)
    t2 = np.where(cols < (e + band)[:, None], t, PAD_B)
    chk_s, bad_s = _number_conflicts(s2, t2, band, digits=digits)
    chk_t, bad_t = _number_conflicts(t2, s2, band, digits=digits)
    ns, nt, nc = shared_numbers(s, ls, t, np.maximum(la, lb), e, band)
    return e, tail, chk_s + chk_t, bad_s + bad_t, ns, nt, nc, start


def tail_vocabulary(
    a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray, e: np.ndarray, stop: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct words of the shorter sketch after ``e`` (its tail), and how many of them the longer one
    has after ``e`` (its continuation), numbers and ``stop`` words left out.

    A partial copy's tail is an unrelated brief: it shares almost no vocabulary with the original's
    continuation; two versions of a formulaic story go on about the same things.
    """
    swap = la > lb
    s, t = np.where(swap[:, None], b, a), np.where(swap[:, None], a, b)
    ls, lt = np.minimum(la, lb), np.maximum(la, lb)
    w = s.shape[1]
    cols = np.arange(w)
    # row by row in (pairs x words) matrices of uint16 codes, sorted along the rows (no global sort of
    # (row, word) keys); NONE marks a left-out place: a word code has its two low bits clear, NONE not
    is_stop = np.zeros(1 << 16, dtype=bool)  # (indexed by the uint16 view: a signed stop code lands too)
    is_stop[stop] = True

    def words(x: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:  # each row's distinct words
        v = x.view(np.uint16)
        keep = ((v & 3) == 0) & (cols >= start[:, None]) & (cols < end[:, None]) & ~is_stop[v]
        out = np.sort(np.where(keep, v, _NONE), axis=1)
        out[:, 1:][out[:, 1:] == out[:, :-1]] = _NONE  # repeats (sorted: next to each other)
        return out

    ws, wt = words(s, e, ls), words(t, e, lt)
    both = np.sort(np.concatenate([ws, wt], axis=1), axis=1)  # a word of both: twice, side by side
    shared = (both[:, 1:] == both[:, :-1]) & (both[:, 1:] != _NONE)
    return (ws != _NONE).sum(1), shared.sum(1)


_NONE = np.uint16(0xFFFF)


def _distinct(x: np.ndarray, *, counts: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``x`` and, with ``counts``, how often each occurs (else an empty array).

    The same as ``np.unique(x, return_counts=counts)``, by a sort: numpy 2's hash-based ``unique`` is
    two orders of magnitude slower on these integer keys.
    """
    v = np.sort(x)
    first = np.ones(v.size, dtype=bool)
    np.not_equal(v[1:], v[:-1], out=first[1:])
    idx = np.flatnonzero(first)
    return v[idx], (np.diff(np.r_[idx, v.size]) if counts else np.zeros(0, np.int64))

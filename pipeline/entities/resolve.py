"""Document-level entity post-processing, independent of the tagging model (no spaCy here).

The model tags each sentence on its own; this module turns those raw mentions into the document's entities:

1. **Span clean-up** - a mention never includes a possessive ("Zarif's" -> "Zarif"), a leading article or
   surrounding punctuation; ``text[start:end]`` stays the mention exactly.
2. **Case-unreliable headlines** - in an ALL-CAPS or Title-Case headline capitalisation says nothing, so the
   model invents names ("Zarif Tries"). Such a headline's mentions are kept only when they match an entity
   found in the body (case-insensitively), and body entities are looked up in it case-insensitively.
3. **One label per surface form** - all mentions with the same normalised text vote (weighted by the model's
   score when it has one); the winner labels every mention.
4. **Name resolution** - a surname (or any trailing part of a multi-word PERSON name, "Javad Zarif") resolves
   to the full name used nearest before it (else the first after it); the full name's votes count 1.5x for it.
5. **Propagation** - a named entity found once is tagged at its other occurrences in the document too (the
   model often misses repeats), unless the occurrence is glued to another capitalised word.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass

# Labels that name something (OntoNotes); numeric types (DATE, MONEY, ...) are never propagated or linked.
NAMED_LABELS = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)

_WS = re.compile(r"\s+")
_POSSESSIVE = re.compile(r"(?:['’`]s|(?<=[sS])['’`])$")
_ARTICLE = re.compile(r"(?:the|The|THE)\s+")  # used with .match: anchored at pos
_HONORIFIC = re.compile(r"(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Dame)\.?\s+(?=[A-Z])")
_EDGE_PUNCT = " \t\n\r\"'“”‘’`«»()[]{}<>,;:!?*|/\\-–—"
_WORD = re.compile(r"[^\W\d_][\w'’.-]*")


@dataclass(frozen=True)
class Entity:
    """One entity mention: ``text == doc_text[start:end]``; ``norm`` is its canonical form in the document."""

    start: int
    end: int
    label: str
    text: str
    norm: str


@dataclass(frozen=True)
class RawMention:
    """A model mention in document offsets; ``score`` is None when the model gives none."""

    start: int
    end: int
    label: str
    score: float | None = None


@dataclass(frozen=True)
class Unit:
    """A tagged stretch of the document (a sentence or paragraph): offsets and section."""

    start: int
    end: int
    section: str = "body"


def normalise(surface: str) -> str:
    """Canonical text of a mention: whitespace collapsed, possessive, article and honorific removed."""
    s = _WS.sub(" ", surface).strip(_EDGE_PUNCT)
    s = _POSSESSIVE.sub("", s).strip(_EDGE_PUNCT)
    for prefix in (_ARTICLE, _HONORIFIC):
        m = prefix.match(s)
        s = s[m.end() :] if m else s
    return s or _WS.sub(" ", surface).strip()


def trim_span(text: str, start: int, end: int, label: str = "") -> tuple[int, int]:
    """Shrink ``[start, end)`` to exclude edge punctuation, a trailing possessive and a leading article."""
    for _ in range(3):  # a few passes: "(the UN's)" needs punctuation, possessive, punctuation
        before = (start, end)
        while start < end and text[start] in _EDGE_PUNCT:
            start += 1
        while end > start and text[end - 1] in _EDGE_PUNCT:
            end -= 1
        m = _POSSESSIVE.search(text, start, end)
        if m and m.start() > start:
            end = m.start()
        m = _ARTICLE.match(text, start, end)
        if m and m.end() < end and label != "WORK_OF_ART":  # "The Godfather" is the title itself
            start = m.end()
        if (start, end) == before:
            break
    return start, end


def case_unreliable(text: str) -> bool:
    """True when capitalisation carries no information: all letters upper case, or every word of four or
    more letters capitalised (Title Case). Needs at least two such words to decide."""
    words = [w for w in _WORD.findall(text) if w[0].isalpha()]
    letters = [c for w in words for c in w if c.isalpha()]
    if len(words) >= 2 and letters and all(c.isupper() for c in letters):
        return True
    long_words = [w for w in words if len(w) >= 4]
    return len(long_words) >= 2 and all(w[0].isupper() for w in long_words)


@dataclass
class _Group:
    votes: dict[str, float]
    first: int  # offset of the first mention, for ties
    first_label: str

    def winner(self) -> str:
        best = max(self.votes.values())
        tied = [lab for lab, v in self.votes.items() if v == best]
        return self.first_label if self.first_label in tied else sorted(tied)[0]


def resolve_document(text: str, units: list[Unit], raw: list[RawMention]) -> list[tuple[Entity, int]]:
    """Turn a document's raw model mentions into consistent, resolved entities.

    Parameters
    ----------
    text : str
        Document text; all offsets refer to it.
    units : list[Unit]
        The stretches that were tagged, in document order, non-overlapping.
    raw : list[RawMention]
        Model mentions in document offsets.

    Returns
    -------
    list[tuple[Entity, int]]
        Entities sorted by offset, each with the index of the unit holding it.
    """
    starts = [u.start for u in units]

    def unit_of(pos: int) -> int:
        return max(bisect.bisect_right(starts, pos) - 1, 0)

    weak = [u.section == "headline" and case_unreliable(text[u.start : u.end]) for u in units]
    # A document that is nothing but a shouting headline has no better evidence than the model's.
    if all(weak):
        weak = [False] * len(units)

    trusted: list[tuple[int, int, str, float]] = []
    weak_raw: list[tuple[int, int]] = []
    for m in sorted(raw, key=lambda m: (m.start, m.end)):
        s, e = trim_span(text, m.start, m.end, m.label)
        if s >= e:
            continue
        if weak[unit_of(s)]:
            weak_raw.append((s, e))
        else:
            trusted.append((s, e, m.label, 1.0 if m.score is None else float(m.score)))

    groups: dict[str, _Group] = {}
    for s, e, label, score in trusted:
        key = normalise(text[s:e])
        g = groups.setdefault(key, _Group(defaultdict(float), s, label))
        g.votes[label] += score

    # Full PERSON names (two or more words) and the mention positions of each, for surname resolution.
    full_pos: dict[str, list[int]] = defaultdict(list)
    for s, e, _, _ in trusted:
        key = normalise(text[s:e])
        if groups[key].winner() == "PERSON" and " " in key:
            full_pos[key].append(s)
    # Only maximal names are targets: "Javad Zarif" itself resolves to "Mohammad Javad Zarif".
    tails = {" ".join(f.split(" ")[i:]) for f in full_pos for i in range(1, f.count(" ") + 1)}
    full_pos = {f: p for f, p in full_pos.items() if f not in tails}
    by_tail: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for full in full_pos:
        toks = full.split(" ")
        for i in range(1, len(toks)):
            by_tail[tuple(toks[i:])].append(full)

    # A first-and-last-name mention is stronger evidence than a lone surname: its votes count 1.5 times.
    for key, g in groups.items():
        fulls = by_tail.get(tuple(key.split(" ")))
        if fulls:
            g.votes["PERSON"] += 1.5 * max(groups[f].votes.get("PERSON", 0.0) for f in fulls)
    labels = {k: g.winner() for k, g in groups.items()}

    def resolve(key: str, label: str, pos: int) -> str:
        fulls = by_tail.get(tuple(key.split(" "))) if label == "PERSON" else None
        if not fulls:
            return key
        cands = [(p, f) for f in fulls for p in full_pos[f]]
        before = [c for c in cands if c[0] < pos]
        return max(before)[1] if before else min(cands)[1]

    out: dict[tuple[int, int], tuple[str, str]] = {}
    for s, e, _, _ in trusted:
        key = normalise(text[s:e])
        out[(s, e)] = (labels[key], resolve(key, labels[key], s))

    # Surfaces to look for elsewhere: named groups plus the surnames of full names.
    surfaces: dict[str, str] = {k: lab for k, lab in labels.items() if lab in NAMED_LABELS and len(k) > 1}
    for tail in by_tail:
        if len(tail) == 1 and len(tail[0]) > 1:
            surfaces.setdefault(tail[0], "PERSON")
    surfaces = {k: lab for k, lab in surfaces.items() if k[0].isupper() or k[0].isdigit()}

    taken = sorted(out)
    strong_units = [u for u, w in zip(units, weak, strict=True) if not w]
    for s, e, key in _find(text, strong_units, surfaces, ignore_case=False):
        if _overlaps(taken, s, e) or _glued(text, s, e, units[unit_of(s)].start):
            continue
        out[(s, e)] = (surfaces[key], resolve(key, surfaces[key], s))
        bisect.insort(taken, (s, e))

    # Weak headlines: keep a model mention only if the body knows it; then look up body entities there.
    folded: dict[str, tuple[str, str]] = {}
    for key, lab in surfaces.items():
        folded.setdefault(key.casefold(), (key, lab))
    for s, e in weak_raw:
        hit = folded.get(normalise(text[s:e]).casefold())
        if hit and not _overlaps(taken, s, e):
            out[(s, e)] = (hit[1], resolve(hit[0], hit[1], s))
            bisect.insort(taken, (s, e))
    weak_units = [u for u, w in zip(units, weak, strict=True) if w]
    for s, e, key in _find(text, weak_units, {k: v[1] for k, v in folded.items()}, ignore_case=True):
        if not _overlaps(taken, s, e):
            orig, lab = folded[key]
            out[(s, e)] = (lab, resolve(orig, lab, s))
            bisect.insort(taken, (s, e))

    return [(Entity(s, e, lab, text[s:e], norm), unit_of(s)) for (s, e), (lab, norm) in sorted(out.items())]


def _find(text: str, units: list[Unit], surfaces: dict[str, str], *, ignore_case: bool):
    """Yield (start, end, key) for whole-word occurrences of the surfaces inside the units, longest first."""
    if not surfaces or not units:
        return
    keys = sorted(surfaces, key=len, reverse=True)
    alts = "|".join(r"\s+".join(map(re.escape, k.split(" "))) for k in keys)
    pattern = re.compile(rf"(?<![\w'’-])(?:{alts})(?![\w-]|['’][^\Ws])", re.IGNORECASE if ignore_case else 0)
    for u in units:
        for m in pattern.finditer(text, u.start, u.end):
            key = _WS.sub(" ", m.group())
            yield m.start(), m.end(), key.casefold() if ignore_case else key


def _overlaps(taken: list[tuple[int, int]], s: int, e: int) -> bool:
    i = bisect.bisect_left(taken, (s, e))
    return any(a < e and s < b for a, b in taken[max(i - 1, 0) : i + 1])


def _glued(text: str, s: int, e: int, unit_start: int) -> bool:
    """True when the occurrence is part of a longer capitalised name ("Essex" in "Essex County Council").

    A capitalised word before it does not count when it starts the sentence ("After Simmons ...")."""
    after = re.match(r"[ \t]+([^\W\d_])", text[e : e + 3])
    if after and after.group(1).isupper():
        return True
    before = re.search(r"([^\W\d_][\w.'’-]*)[ \t]+$", text[max(unit_start, s - 40) : s])
    if before and before.group(1)[0].isupper():
        word_start = s - len(before.group(0))
        return text[unit_start:word_start].strip(_EDGE_PUNCT) != ""
    return False

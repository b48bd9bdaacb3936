"""Rule-based sentence segmentation with exact character offsets.

How it works
------------
1. The text is cut into *blocks* at paragraph breaks (a blank line; optionally a newline followed by an
   indented line, as in wire copy). No sentence crosses a block.
2. In each block, candidate boundaries are runs of terminal punctuation (``.``, ``?``, ``!``, ellipses)
   with any closing quotes or brackets, followed by whitespace.
3. Each candidate is decided from the word before it and the word after it. The word before is
   classified with the hand-written lists in :mod:`pipeline.sentences.lexicon` (titles, post-nominal
   abbreviations such as ``Inc.``, other abbreviations such as ``U.S.``, initials, numbers); the word after
   is lower-case, capitalised, a number or other, and may be one of a small table of words that are almost
   always sentence-initial when capitalised (``The``, ``He``, ``But``...).
4. Ordered lists (``1. ... 2. ...``, ``a) ... b) ...``) and bullets start new sentences; datelines
   (``LONDON (Reuters) -``) never hold a boundary.

Everything is a single left-to-right pass with bounded look-around, so time is linear in the text length.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from pipeline.sentences.languages import ENGLISH, LanguageRules, rules_for

__all__ = ["SegmentConfig", "split_sentences"]


@dataclass(frozen=True)
class SegmentConfig:
    """Options for :func:`split_sentences`.

    Attributes
    ----------
    indent_breaks
        Treat a newline followed by an indented line (two or more spaces or a tab) as a paragraph break,
        as in wire copy where paragraphs are indented rather than separated by blank lines.
    line_bullets
        A line starting with ``-``, ``*``, ``--`` or a dash followed by a space starts a new sentence.
    max_chars
        Longest sentence produced; a longer stretch without a boundary (tables, junk) is cut at the last
        whitespace before the limit, so downstream models never see unbounded input.
    """

    indent_breaks: bool = True
    line_bullets: bool = True
    max_chars: int = 5000


DEFAULT_CONFIG = SegmentConfig()

# --- patterns -------------------------------------------------------------------------------------

_BLANK = r"\n[^\S\n]*+\n\s*+"
_BREAKS = {
    (False, False): re.compile(_BLANK),
    (True, False): re.compile(_BLANK + r"|\n(?=(?:[^\S\n]{2,}+|\t)\S)"),
    (False, True): re.compile(_BLANK + r"|\n(?=[^\S\n]*+(?:--?|[*–—])[^\S\n])"),
    (True, True): re.compile(_BLANK + r"|\n(?=(?:[^\S\n]{2,}+|\t)\S)|\n(?=[^\S\n]*+(?:--?|[*–—])[^\S\n])"),
}
# Every pattern is linear: no lookahead after a run, bounded repetitions, and possessive quantifiers where
# two runs of the same characters meet (a million spaces must not cost a million squared steps).
# A run of terminal punctuation: "." "?!" "..." ". . ." "…", then closing quotes and brackets.
_OPENERS = "([{\"'“‘`«„‚»"
_NEXT = re.compile(r"\s*([(\[{\"'“‘`«„‚»]*)(\S{0,40})")
_WORD = re.compile(r"[^\W\d_][^\W\d_'’]*(?:['’][^\W\d_]+)*")
_DOTTED = re.compile(r"[^\W\d_]{1,2}(?:\.-?[^\W\d_]{1,2})+")
# Wikipedia-style citation markers after the full stop belong to the sentence they close: "in 1805.[19]".
_CITES = r"(?:[^\S\n]?\[(?:\d{1,3}|[a-z]|citation needed)\])*"
# Emoticons close the sentence before them (":-)", ";)", ":(", ":D", ":P", "<3", "^_^", "xD").
_EMOTICON = re.compile(r"(?:[:;=][-o^']?[)(\]\[DPpO3/\\|*]{1,3}|<3+|\^_*\^|[xX]D)(?=\s|$)")
# Interview turns inside a block: "Q: ... A: ...". "A:" counts only once a "Q:" has been seen.
_TURN = re.compile(r"(?<=\s)(?:Q|A)(?::|\.:)(?=\s)")
_BULLETS = "•▪●◦‣⁃■□➢►"
_BULLET = re.compile(r"(?<!\S)[•▪●◦‣⁃■□➢►]")
# List markers: "1." "1)" "1.)" "(1)" "a." "b)" ..., preceded by whitespace, a bullet or the block start.
_MARKER = re.compile(r"(?<![^\s•▪●◦‣⁃■□➢►])(\(?)(\d{1,3}|[A-Za-z])(\.\)|\)|\.)(?=\s)")
# Datelines at the start of a block: "LONDON (Reuters) - ", "WASHINGTON, Oct. 19 (Reuters) - ",
# "FT. LAUDERDALE, Fla. (AP) — ", "SALVADOR, Feb 26 - ".
_DATELINE = re.compile(
    r"[A-Z][A-Z.'’ -]{1,40}?"  # place in capitals
    # ", Fla." / ", Oct. 19"
    r"(?:,[^\S\n]*[A-Z][A-Za-z.]{1,12}(?:[^\S\n]+[A-Z][A-Za-z.]{1,12})?(?:[^\S\n]+\d{1,2})?)*"
    r"[^\S\n]*+(?:\([^()\n]{1,30}\))?[^\S\n]*+(?:--?|–|—)[^\S\n]"
)

# '"...?" Mr. Watson asks.': up to three capitalised words, then a verb of saying.
_ATTRIBUTION = re.compile(
    r"\s++(?:(?:Mr|Mrs|Ms|Dr|Prof)\.\s++)?(?:[A-Z][\w'’.-]{0,30}\s++){0,2}[A-Z][\w'’-]{0,30}\s++"
    r"(?:said|says|asked|asks|added|adds|recalled|recalls|replied|replies|wrote|writes|told|tells|explained"
    r"|explains|noted|notes|insisted|insists|wondered|wonders|declared|declares|continued|continues|argued"
    r"|argues|shouted|shouts|exclaimed|exclaims|cried|cries)\b"
)
# Run-in side heads in capitals at a sentence start: "ENERGY: Petroleum futures rose."
_SIDEHEAD = re.compile(r"[A-Z][A-Z&'’.-]{0,30}[A-Z](?:[^\S\n]{1,3}[A-Z&][A-Z&'’.-]{0,30}){0,5}:(?=\s{1,3}[\"“]?[A-Z])")

# A colon introducing dash or bullet items: "will consist of: -- $10 billion of notes".
_COLON_LIST = re.compile(r":(?=[^\S\n]{1,3}(?:--|[•▪●◦‣⁃■]))")

# Classes of the word before a period.
_ORDINARY, _TITLE, _STREET, _POST, _NUMERIC, _ABBREV, _NEVER, _ORDINAL = range(8)


@functools.lru_cache(maxsize=16)
def _patterns(closers: str) -> tuple[re.Pattern, re.Pattern]:
    """The terminal-run pattern and the detached-closing-quote pattern for a language's quotation marks."""
    c = re.escape(closers)
    quotes = re.escape("".join(ch for ch in closers if ch not in ")]}"))
    # A run of terminal punctuation: "." "?!" "..." ". . ." "…", then closing quotes, brackets, citations.
    term = re.compile(rf"[.?!…‽]+(?: [.…]+)*([{c}]*){_CITES}")
    # A quote standing alone after a space can only close: 'dismissal. " I loved' -> 'dismissal. "'.
    detached = re.compile(rf"[^\S\n]++[{quotes}]++(?=\s|$)")
    return term, detached


_EMOTICON_AFTER = re.compile(r"[^\S\n]++" + _EMOTICON.pattern)


def _classify(word: str, rules: LanguageRules, *, first: bool = False, next_upper: bool = True) -> int:
    """Abbreviation class of ``word`` (the token before a period, without that period).

    ``first`` says the word opens its sentence, where a post-nominal form has no name to follow;
    ``next_upper`` says the next word is in capitals (or unknown).
    """
    word = word.lstrip(_OPENERS)
    if not word:
        return _ORDINARY
    if "-" in word and not word.endswith("-"):  # ex-Gov., non-U.S., Sino-U.S.
        word = word.rsplit("-", 1)[1] or word
    key = word.lower()
    if key in rules.never_end:
        return _NEVER
    if key in rules.titles and not (key == "ft" and word.islower()):
        # A title in capitals before ordinary capitalised text is a word or acronym ("the FT. But").
        return _ORDINARY if len(word) > 1 and word.isupper() and not next_upper else _TITLE
    if len(word) == 1 and word.isupper():
        return _ABBREV  # an initial, even where the lower-case letter is an abbreviation (p. 5)
    if key in rules.street:
        return _STREET
    if key in rules.postnominal:
        return _ABBREV if first else _POST
    if key in rules.numeric:
        return _NUMERIC
    if key in rules.generic or (key in rules.months or key in rules.weekdays) and word[0].isupper():
        return _ABBREV
    if (len(word) == 1 and word.isalpha()) or _DOTTED.fullmatch(word):
        return _ABBREV  # initials, U.S.A., Ph.D., S.p.A., z.B.
    if rules.ordinal_dots and word.isdigit() and len(word) <= 4:
        return _ORDINAL  # "am 3. Oktober", "der 2. Weltkrieg"
    return _ORDINARY


@dataclass(frozen=True, slots=True)
class _Next:
    kind: str  # "end" | "lower" | "cap" | "digit" | "other"
    word: str  # lower-cased leading word, apostrophes normalised
    quote: bool  # an opening quote precedes it
    paren: bool  # an opening bracket precedes it
    upper: bool = True  # the word is in capitals (LOUIS, AP)


def _next_token(text: str, pos: int, end: int) -> _Next:
    m = _NEXT.match(text, pos, end)
    assert m is not None  # every part of _NEXT is optional: it matches at any position
    openers, tok = m.group(1), m.group(2)
    if not tok:
        return _Next("end" if not openers else "other", "", False, False)
    quote = any(c in "\"'“‘`«„‚»" for c in openers)
    paren = any(c in "([{" for c in openers)
    c = tok[0]
    if c.isdigit():
        kind = "digit"
    elif c.isalpha():
        kind = "lower" if c.islower() and not any(ch.isupper() for ch in tok[:6]) else "cap"
    else:
        kind = "other"
    w = _WORD.match(tok)
    word = w.group(0).lower().replace("’", "'") if w else ""
    if len(word) == 1 and tok[1:2] == ".":
        word = ""  # an initial ("S.p. A.", "J. Smith"), not the article "A" or the pronoun "I"
    return _Next(kind, word, quote, paren, tok.isupper())


def _period_boundary(cls: int, nxt: _Next, closed_quote: bool, caps_block: bool, rules: LanguageRules) -> bool:
    """Decide a single period after a word of class ``cls`` (lower-case followers are decided before)."""
    if nxt.kind == "lower":
        return False
    if nxt.kind == "end" or cls == _ORDINARY:
        return True
    if cls in (_NEVER, _TITLE) or nxt.kind == "digit" or caps_block:
        return False
    if cls == _NUMERIC:
        return nxt.kind == "cap"
    if cls == _ORDINAL:
        return nxt.word in rules.starters and nxt.word not in rules.ordinal_next
    if cls == _POST:
        if nxt.quote:
            return True
        if nxt.paren or nxt.kind == "other":
            return False
        return nxt.word not in rules.continuation or nxt.word in rules.honorifics
    # _ABBREV and _STREET: only before a word that starts sentences.
    if closed_quote and nxt.kind == "cap":
        return True
    return nxt.word in rules.starters or nxt.word in rules.honorifics


def _plain_word(word: str) -> bool:
    """A word of two or more letters (apostrophes allowed): not an abbreviation, figure, initial or URL."""
    word = word.lstrip(_OPENERS)
    return len(word) >= 2 and _WORD.fullmatch(word) is not None


def _caps_block(text: str, start: int, end: int) -> bool:
    """True for a short block in title case or capitals, where capitalisation says nothing."""
    if end - start > 400:
        return False
    words = [w for w in _WORD.findall(text, start, end) if len(w) >= 4]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _list_markers(text: str, start: int, end: int) -> tuple[list[int], set[int]]:
    """Positions to cut before (list items after the first) and periods that are list markers."""
    chains: dict[tuple, list] = {}
    found: list[list[tuple[int, int]]] = []
    protected: set[int] = set()
    for m in _MARKER.finditer(text, start, end):
        s = m.start()
        open_paren, val, close = m.group(1), m.group(2), m.group(3)
        kind = "d" if val.isdigit() else ("l" if val.islower() else "u")
        value = int(val) if kind == "d" else ord(val)
        style = (open_paren, kind, close)
        prev = text[s - 1] if s > start else "\n"
        b = s
        while b > start and text[b - 1].isspace():
            b -= 1
        before = text[b - 1] if b > start else ""
        period = m.start(3) if close.startswith(".") else -1
        # A list starts a block or a line, follows a bullet, or follows a colon when its items are
        # capitalised (lower-case items after a colon run on inside one sentence: "answers: 1) no, ...").
        anchored = (
            s == start
            or prev == "\n"
            or before[-1:] in _BULLETS
            or (before[-1:] == ":" and _next_token(text, m.end(), end).kind == "cap")
        )
        chain = chains.get(style)
        if chain is not None and chain[0] == value:
            chain[0] += 1
            chain[1].append((s, period))
        elif anchored:
            chains[style] = [value + 1, [(s, period)]]
            found.append(chains[style][1])
            if s == start or before[-1:] in _BULLETS:
                protected.add(period)
    cuts: list[int] = []
    for items in found:
        if len(items) >= 2:
            for s, period in items:
                protected.add(period)
                while s > start and (text[s - 1] in _BULLETS or text[s - 1].isspace()):
                    s -= 1  # cut before the bullet of "• 10." too
                cuts.append(s)
    protected.discard(-1)
    return cuts, protected


def _fronted_phrase(text: str, start: int, pos: int, rules: LanguageRules) -> bool:
    """Whether ``text[start:pos]`` is the start of a short prepositional phrase ("At 5", "In early")."""
    if pos - start > 40:
        return False
    words = text[start:pos].split()
    return 0 < len(words) <= 3 and words[0].lower().lstrip(_OPENERS) in rules.prepositions


def _sentence_start(text: str, start: int, pos: int) -> bool:
    """Whether ``pos`` follows the block start or a sentence-final character (ignoring spaces)."""
    before = text[max(start, pos - 8) : pos].rstrip()
    return pos == start or (before == "" and pos - start < 8) or before[-1:] in ".?!:\"'”’)"


def _structure_cuts(text: str, start: int, end: int) -> tuple[list[int], set[int], int]:
    """Cuts from layout rather than punctuation: lists, bullets, side heads, interview turns, emoticons.

    Also returns the periods that are list markers and the end of a dateline (no boundary before it).
    """
    protected_upto = start
    if text[start].isupper():
        d = _DATELINE.match(text, start, end)
        if d:
            protected_upto = d.end()
    cuts, protected = _list_markers(text, start, end)
    cuts.extend(m.start() for m in _BULLET.finditer(text, start, end))
    for m in _SIDEHEAD.finditer(text, start, end):
        # A kicker in a one-line headline ("Q&A: Why rates rise", "ANALYSIS: ...") is part of the headline.
        if m.group(0) == "Q&A:" or (m.start() == start and end - start <= 160 and "\n" not in text[start:end]):
            continue
        if _sentence_start(text, start, m.start()):
            cuts.append(m.end())
    cuts.extend(m.end() for m in _COLON_LIST.finditer(text, start, end))
    if text.find("Q", start, end) >= 0:
        seen_q = text.startswith("Q:", start)  # the lookbehind of _TURN cannot see the block start
        for m in _TURN.finditer(text, start, end):
            seen_q = seen_q or text[m.start()] == "Q"
            if seen_q:
                cuts.append(m.start())
    for m in _EMOTICON.finditer(text, start, end):
        free = m.start() == start or text[m.start() - 1].isspace()
        if free and m.end() < end and _next_token(text, m.end(), end).kind in ("cap", "lower"):
            cuts.append(m.end())
    return cuts, protected, protected_upto


def _block_cuts(text: str, start: int, end: int, rules: LanguageRules) -> list[int]:
    """Sorted positions in ``[start, end)`` where a new sentence may begin (segment ends)."""
    cuts, protected, protected_upto = _structure_cuts(text, start, end)
    term, detached = _patterns(rules.closers)
    caps: bool | None = None
    last_cut = start
    for m in term.finditer(text, start, end):
        e = m.end()
        if e < end and not text[e].isspace():
            continue  # inner dots (U.S.A, 5.93, example.com, mean...see)
        s = m.start()
        if s < protected_upto or s in protected:
            continue
        run = text[s : m.start(1)]
        closed = m.group(1)
        closed_quote = any(c not in ")]}" for c in closed)
        d = detached.match(text, e, end)
        if d:
            e, closed_quote = d.end(), True
        em = _EMOTICON_AFTER.match(text, e, end)
        if em:
            e = em.end()  # "I love her. :)" -- the smiley belongs to the sentence it follows
        nxt = _next_token(text, e, end)
        prev = s
        while prev > start and s - prev < 60 and not text[prev - 1].isspace():
            prev -= 1
        before = text[prev:s]
        if "?" in run or "!" in run or "‽" in run:
            if nxt.kind == "lower":
                # Informal text starts sentences in lower case ("where did you grow up? india?"), but a
                # quoted or bracketed question runs on ('"Why?" he asked'), and so do brands ("Yahoo! is").
                brand = run == "!" and before[:1].isupper() and not before.isupper()
                if rules.lower_starts and not closed_quote and not closed and not brand:
                    cuts.append(e)
                    last_cut = e
                continue
            # '"Why?" Mr. Watson asks.' is one sentence: a quotation ends, the attribution follows.
            if not (closed_quote and rules.attribution and _ATTRIBUTION.match(text, e, end)):
                cuts.append(e)
                last_cut = e
            continue
        dots = run.count(".") + 3 * run.count("…")
        if dots >= 2:
            # Ellipses: three dots mark an omission, inside a sentence unless a sentence-initial word
            # follows (not "I", capitalised anywhere); four are an omission plus a full stop, and the
            # whole run stays with the sentence it ends ("compounds. . . . The" splits after the run).
            if nxt.kind == "lower" or (s > start and text[s - 1] in "[("):
                continue  # "[...]" marks an omission, never an end
            if dots >= 4 or (closed_quote and not nxt.paren) or nxt.kind == "end" or nxt.word in rules.starters:
                cuts.append(e)
                last_cut = e
            continue
        first = prev
        while first > last_cut and (text[first - 1].isspace() or text[first - 1] in _OPENERS):
            first -= 1
        first = first <= last_cut
        cls = _classify(before, rules, first=first, next_upper=nxt.upper)
        if nxt.kind == "lower":
            # "not sure how I feel about that one. it's passable": an ordinary word, no bracket or quote.
            if rules.lower_starts and cls == _ORDINARY and not closed_quote and not closed and _plain_word(before):
                cuts.append(e)
                last_cut = e
            continue
        if cls != _ORDINARY and nxt.kind == "cap" and caps is None:
            caps = _caps_block(text, start, end)
        if cls == _ABBREV and _fronted_phrase(text, last_cut, prev, rules):
            continue  # "At 5 a.m. Mr. Smith left.": "At 5 a.m." alone is no sentence
        if _period_boundary(cls, nxt, closed_quote, bool(caps), rules):
            cuts.append(e)
            last_cut = e
    if rules.lower_starts:
        cuts.extend(_unpunctuated_cuts(text, start, end))
    cuts.sort()
    return cuts


# A capitalised pronoun or determiner that opens a clause, then a lower-case word: "We had", "This is".
# "I", "A" and "The" are left out: they are capitalised mid-sentence too ("Vitamin A is", "in The Times").
_OPENER = re.compile(
    r"[^\S\n](?:We|They|He|She|It|This|These|My|Our|Their|Your|There|If|When|What|How|Why"
    r"|Please|Thanks|Thank|Here|Hope)(?=[^\S\n]+[a-z])"
)
_URL_END = re.compile(r"(?:https?://|www\.)\S{2,200}?(?=[^\S\n]+(?:https?://|www\.|[A-Z][a-z]))")


def _unpunctuated_cuts(text: str, start: int, end: int) -> list[int]:
    """Boundaries without punctuation in informal text (headings, reviews, comments, e-mail).

    A clause-opening pronoun in capitals right after a word ("Fantastic cottage We had a great time") starts
    a sentence -- in edited prose those words are capitalised only at a sentence start -- and so does the
    word after a URL that closes one ("see www.x.com If you are new").
    """
    out = []
    for m in _OPENER.finditer(text, start, end):
        if m.start() > start and text[m.start() - 1].isalpha():  # right after a word, no punctuation
            out.append(m.start() + 1)
    if text.find("://", start, end) >= 0 or text.find("www.", start, end) >= 0:
        for m in _URL_END.finditer(text, start, end):
            if m.group(0)[-1:].isalnum() or m.group(0)[-1:] in "/]":
                out.append(m.end())
    return out


def _paragraphs(text: str, config: SegmentConfig):
    pos = 0
    for m in _BREAKS[(config.indent_breaks, config.line_bullets)].finditer(text):
        if m.start() > pos:
            yield pos, m.start()
        pos = m.end()
    if pos < len(text):
        yield pos, len(text)


def _has_alnum(text: str, start: int, end: int) -> bool:
    return any(c.isalnum() for c in text[start:end])


def split_sentences(
    text: str, *, config: SegmentConfig = DEFAULT_CONFIG, language: str | None = "en"
) -> list[tuple[int, int]]:
    """Split ``text`` into sentences.

    Parameters
    ----------
    text
        Any text; paragraphs are separated by blank lines.
    config
        Options, see :class:`SegmentConfig`.
    language
        ISO 639-1 code of the text ("en", "de", "fr"); any other code, or None, gets language-neutral
        rules (see :mod:`pipeline.sentences.languages`).

    Returns
    -------
    list of (start, end)
        Character spans in order, non-overlapping; ``text[start:end]`` is a sentence without leading or
        trailing whitespace. No span crosses a paragraph break. A piece without letters or digits (a
        stray ellipsis or quote) is attached to the sentence before it in the same paragraph.
    """
    rules = ENGLISH if language == "en" else rules_for(language)
    spans: list[tuple[int, int]] = []
    for bstart, bend in _paragraphs(text, config):
        block_first = len(spans)
        seg_start = bstart
        last_has_alnum = True
        for cut in [*_block_cuts(text, bstart, bend, rules), bend]:
            if cut <= seg_start:
                continue
            a, b = seg_start, cut
            while a < b and text[a].isspace():
                a += 1
            while b > a and text[b - 1].isspace():
                b -= 1
            seg_start = cut
            if a == b:
                continue
            has_alnum = _has_alnum(text, a, b)
            if len(spans) > block_first and (not has_alnum or not last_has_alnum):
                spans[-1] = (spans[-1][0], b)  # glue punctuation-only pieces to a neighbour
                last_has_alnum = last_has_alnum or has_alnum
            else:
                spans.append((a, b))
                last_has_alnum = has_alnum
        if len(spans) > block_first:
            spans[block_first:] = _cap_length(text, spans[block_first:], config.max_chars)
    return spans


def _cap_length(text: str, spans: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    if all(b - a <= limit for a, b in spans):
        return spans
    out = []
    for a, b in spans:
        while b - a > limit:
            cut = a + limit
            ws = max(text.rfind(" ", a + 1, cut), text.rfind("\n", a + 1, cut))
            if ws > a:
                cut = ws
            end = cut
            while end > a and text[end - 1].isspace():
                end -= 1
            out.append((a, end))
            a = cut
            while a < b and text[a].isspace():
                a += 1
        if a < b:
            out.append((a, b))
    return out

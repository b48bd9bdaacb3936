"""Plain-text dumps of scraped pages: several articles per file -> headline, body paragraphs, captions.

Layout assumed (and tolerated when partly absent): articles are separated by two or more blank lines; an
article starts with its headline; scraped pages may repeat the headline, with photo captions around it
(before it, after it, or both), and carry page-interface tokens (``TT``, ``20``, ``Share``) on lines of
their own; body paragraphs are separated by single blank lines.

How lines are told apart, in general terms rather than by word lists:

* interface token: a line without letters of at most 6 characters, a single all-caps token of at most 3
  characters, or a short non-sentence line (<= 4 words, no final punctuation) that recurs in at least 3
  articles and 30 % of the file's articles;
* date line: a line that is entirely a date (optionally after a short label such as ``Published:``); it is
  the article's ``text`` date unless its label says updated/modified;
* caption: a line between the headline and its repetition (the photo block of a scraped page), a line that
  repeats one of those, or a line that appears twice in a row within one block (no blank line between);
* everything else after the headline is body, in order; a repeated body paragraph is kept once.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pipeline.ingest.dates import parse_raw
from pipeline.ingest.decode import BOMS, clean_text, decode_bytes, utf16_without_bom

_ARTICLE_SPLIT = re.compile(r"\n[ \t\u00a0]*\n(?:[ \t\u00a0]*\n)+")
_ARTICLE_SPLIT_BYTES = re.compile(rb"(\r?\n[ \t]*\r?\n(?:[ \t]*\r?\n)+)")
_SURE = ("bom", "nul-pattern", "strict", "declared")
_CHUNK_SPLIT = re.compile(r"\n[ \t\u00a0]*\n")
_LABEL = re.compile(r"^(?P<label>[^\d:|]{1,30}?)\s*[:|]?\s+(?=\d|[A-Za-z]{3,9}\.?\s+\d)")
_UPDATED = re.compile(r"updat|modif|edit|päivit|uppdat|aktualis|mis à jour|actualiz", re.I)


@dataclass
class TextArticle:
    index: int
    title: str
    body: list[str]
    captions: list[str]
    date_raw: str | None
    how: str | None = None  # how its bytes were decoded (see decode.decode_bytes)


def _key(line: str) -> str:
    return " ".join(line.split()).casefold()


def _is_shape_token(line: str) -> bool:
    s = line.strip()
    if not any(c.isalpha() for c in s):
        return len(s) <= 6
    return " " not in s and len(s) <= 3 and s.upper() == s


def _is_short_ui(line: str) -> bool:
    s = line.strip()
    return len(s.split()) <= 4 and len(s) <= 30 and not s.endswith((".", "!", "?", ":", '"', "”", "»"))


def _date_line(line: str) -> tuple[str, bool] | None:
    """``(raw, is_update)`` when the whole line is a date, else None."""
    s = line.strip()
    if len(s) > 60 or not any(c.isdigit() for c in s):
        return None
    label = ""
    if (m := _LABEL.match(s)) and parse_raw(s[m.end() :])[0]:
        label, s = m.group("label"), s[m.end() :]
    readings, flags = parse_raw(s)
    if readings or "impossible" in flags or "ambiguous_dmy" in flags:
        if not readings and "ambiguous_dmy" not in flags and len(s) < 8:
            return None
        return s, bool(_UPDATED.search(label))
    return None


class DumpText:
    """A dump's text, decoded article block by article block on demand: the decoded file is never held whole.

    Dumps are concatenations of scraped pages, and one cp1252 article in a UTF-8 file must not turn the
    whole file into a guess (or the other articles into mojibake): a file that is not one clean encoding is
    decoded block by block (``mixed``), each block with its own ``how``. Blocks are split at the article
    separator in the bytes, which is safe for every ASCII-compatible charset (``\\n`` is never part of a
    multi-byte character there); UTF-16/32 files (BOM or NUL pattern) are decoded whole. ``cut``: the bytes
    end early (a truncated ``.gz``): the last article may be incomplete and is dropped, the complete ones
    before it are kept.

    Memory: the bytes (held by the caller too) plus one block at a time; a strict UTF-8 check runs in
    1 MiB steps. Only a non-UTF-8 file is decoded whole once, to choose its charset.
    """

    def __init__(self, data: bytes | bytearray, *, cut: bool = False):
        self._data: bytes | bytearray = data
        self._end = len(data)
        self._text: str | None = None
        self._hows: list[str] = []  # per block, mixed files only
        if cut:
            ends = [m.start() for m in _ARTICLE_SPLIT_BYTES.finditer(data)]
            self._end = ends[-1] if ends else 0
        self.mixed = False
        src = data if self._end == len(data) else bytes(data[: self._end])  # a copy only for a cut file
        if any(data.startswith(bom) for bom, _ in BOMS) or utf16_without_bom(data):
            self._text, self.how = decode_bytes(src)
            self._data = b""
        elif _is_utf8(memoryview(src)):
            self.how = "utf-8:strict"
        else:
            whole, self.how = decode_bytes(src)
            del whole
            self._hows = [_decode_block(bytes(b))[1] for b in self._raw_blocks()]
            self.mixed = len({h.split(":")[0] for h in self._hows}) > 1
        self.hows = sorted(set(self._hows)) if self.mixed else [self.how]

    def _raw_blocks(self) -> Iterator[bytes | bytearray]:
        data, pos = self._data, 0
        for m in _ARTICLE_SPLIT_BYTES.finditer(data, 0, self._end):
            yield data[pos : m.start()]
            pos = m.end()  # the separator itself holds no text
        yield data[pos : self._end]

    def blocks(self) -> Iterator[tuple[str, str]]:
        """``(decoded text, how)`` per article block, in file order (not cleaned)."""
        if self._text is not None:
            yield self._text, self.how
            return
        codec = self.how.split(":")[0]
        for i, raw in enumerate(self._raw_blocks()):
            if self.mixed:
                yield _decode_block(bytes(raw))[0], self._hows[i]
            else:
                yield raw.decode(codec, errors="replace"), self.how

    def head(self, n: int = 8192) -> str:
        """The start of the text (for the binary check)."""
        if self._text is not None:
            return self._text[:n]
        codec = "utf-8" if self.mixed else self.how.split(":")[0]
        return self._data[: min(self._end, 4 * n)].decode(codec, errors="replace")[:n]


def _is_utf8(data: memoryview) -> bool:
    dec = codecs.getincrementaldecoder("utf-8")()
    try:
        for i in range(0, len(data), 1 << 20):
            dec.decode(data[i : i + (1 << 20)])
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decode_block(data: bytes) -> tuple[str, str]:
    """One article of a mixed dump: valid UTF-8 stays UTF-8; otherwise a legacy charset, never UTF-8 with
    replacement characters (in a file already known to mix encodings, one bad byte means legacy bytes)."""
    text, how = decode_bytes(data)
    if how == "utf-8:replace":
        text, how = decode_bytes(data, declared="cp1252")
        if how == "cp1252:declared":
            how = "cp1252:legacy-article"  # nothing declared it: the file's other articles say it is not UTF-8
    return text, how


def split_articles(text: str) -> list[list[list[str]]]:
    """Articles -> chunks (blank-line separated) -> non-empty stripped lines."""
    out = []
    for block in _ARTICLE_SPLIT.split(clean_text(text)):
        chunks = [[ln.strip() for ln in ch.split("\n") if ln.strip()] for ch in _CHUNK_SPLIT.split(block)]
        chunks = [c for c in chunks if c]
        if chunks:
            out.append(chunks)
    return out


def parse_textdump(text: str) -> list[TextArticle]:
    return list(iter_articles(lambda: [(text, None)]))


def iter_articles(blocks: Callable[[], Iterable[tuple[str, str | None]]]) -> Iterator[TextArticle]:
    """Articles of a dump, one at a time. ``blocks`` gives ``(text, how)`` pieces in order and is called twice:
    once to find the interface strings recurring across the file's articles, once to build the articles
    (so the file's articles are never all held at once). Each article carries its piece's ``how``."""

    def raw_articles() -> Iterator[tuple[list[list[str]], str | None]]:
        for text, how in blocks():
            for art in split_articles(text):
                yield art, how

    # interface strings recurring across the file's articles
    per_article: Counter[str] = Counter()
    n = 0
    for art, _ in raw_articles():
        n += 1
        per_article.update({_key(ln) for ch in art for ln in ch if _is_short_ui(ln)})
    ui = {k for k, c in per_article.items() if c >= 3 and c >= 0.3 * n}
    del per_article

    index = 0
    for art, how in raw_articles():
        lines: list[tuple[int, str]] = []
        date_raw = None
        for ci, ch in enumerate(art):
            for ln in ch:
                if _is_shape_token(ln) or _key(ln) in ui:
                    continue
                if (d := _date_line(ln)) is not None:
                    if not d[1] and date_raw is None:
                        date_raw = d[0]
                    continue
                lines.append((ci, ln))
        if not lines:
            continue  # a block of interface tokens only: not an article
        title = lines[0][1]
        tkey = _key(title)
        rest = lines[1:]
        captions: list[str] = []
        cap_keys: set[str] = set()
        rep = next((i for i, (_, ln) in enumerate(rest) if _key(ln) == tkey), None)
        if rep is not None:
            for _, ln in rest[:rep]:
                if _key(ln) not in cap_keys:
                    captions.append(ln)
                    cap_keys.add(_key(ln))
            rest = rest[rep + 1 :]
        keys = [(ci, _key(ln)) for ci, ln in rest]
        for i, (ci, k) in enumerate(keys):
            # a line twice in a row inside one block is an image caption; a paragraph repeated after a
            # blank line is a repeated body paragraph (kept once, in the body)
            if i + 1 < len(keys) and keys[i + 1] == (ci, k) and k not in cap_keys:
                captions.append(rest[i][1])
                cap_keys.add(k)
        paras: dict[int, list[str]] = {}
        for ci, ln in rest:
            k = _key(ln)
            if k == tkey or k in cap_keys:
                continue
            paras.setdefault(ci, []).append(ln)
        body = ["\n".join(p) for _, p in sorted(paras.items())]
        yield TextArticle(index, title, body, captions, date_raw, how)
        index += 1

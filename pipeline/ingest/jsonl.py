"""JSONL/NDJSON records -> documents through a configurable :class:`~.config.JsonlMapping`.

A mapping value is a dotted path (``meta.published``); ``a|b`` takes the first non-empty of several paths
(Reuters keeps unprocessed stories in ``unproc_text`` instead of ``body``). Lines are read one at a time
from a binary stream, so a file of any length is parsed in bounded memory per record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeline.ingest.config import JsonlMapping
from pipeline.ingest.decode import clean_text, decode_bytes
from pipeline.ingest.records import Reject

if TYPE_CHECKING:
    from _typeshed import SupportsReadline  # stubs-only module; a binary file or parse.CappedReader

AUTO = {
    "id": ("id", "doc_id", "docid", "newid", "uuid", "guid", "_id", "article_id"),
    "title": ("title", "headline", "heading", "name"),
    "text": ("text", "body", "content", "article", "articleBody", "maintext", "story"),
    "date": (
        "date",
        "published",
        "pub_date",
        "published_at",
        "publishedAt",
        "datePublished",
        "publish_date",
        "date_publish",
        "pubDate",
        "time",
    ),
    "url": ("url", "link", "source_url", "canonical_url", "uri"),
    "authors": ("authors", "author", "byline", "creator"),
    "site": ("site", "source", "publisher", "source_domain", "sitename", "site_name"),
}
_BLANK = re.compile(r"\n[ \t]*\n")


@dataclass
class JsonRecord:
    key: str
    title: str | None
    body: list[str]
    date_raw: str | None
    url: str | None
    authors: list[str]
    site: str | None
    how: str | None = None  # how a line that is not UTF-8 was decoded (see decode.decode_bytes)


def _get(obj: dict, path: str) -> Any:
    for alt in path.split("|"):
        cur: Any = obj
        for part in alt.strip().split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
                cur = cur[int(part)]
            else:
                cur = None
                break
        if cur not in (None, "", [], {}):
            return cur
    return None


def _field(obj: dict, mapping: JsonlMapping, name: str) -> Any:
    path = getattr(mapping, name)
    if path is not None:
        return _get(obj, path)
    for cand in AUTO[name]:
        if (v := obj.get(cand)) not in (None, "", [], {}):
            return v
    return None


def _scalar(v: Any) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    if isinstance(v, bool):
        return None
    return str(v)


def _names(v: Any) -> list[str]:
    if v is None:
        return []
    items = v if isinstance(v, list) else [v]
    out = []
    for it in items:
        if isinstance(it, dict):
            it = it.get("name")
        if isinstance(it, str):
            out += [x.strip() for x in re.split(r"\s*;\s*|\s+and\s+", it) if x.strip()]
    return out


def paragraphs(text: str, mapping: JsonlMapping) -> list[str]:
    text = clean_text(text)
    pattern = re.compile(mapping.paragraph_pattern) if mapping.paragraph_pattern else _BLANK
    out = []
    for p in pattern.split(text):
        if mapping.unwrap_lines:
            p = " ".join(p.split())
        out.append(p.strip())
    return [p for p in out if p]


def read_lines(stream: SupportsReadline[bytes], *, max_line_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line_number, bytes)``; ``None`` for a line longer than ``max_line_bytes`` (skipped, not held)."""
    lineno = 0
    while True:
        line = stream.readline(max_line_bytes + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_line_bytes and not line.endswith(b"\n"):
            while (rest := stream.readline(1 << 20)) and not rest.endswith(b"\n"):
                pass
            yield lineno, None
            continue
        yield lineno, line


def parse_record(line: bytes, lineno: int, mapping: JsonlMapping) -> JsonRecord | None:
    """One JSONL line -> record; ``None`` for a blank line; :class:`Reject` for a bad one."""
    if not line.strip():
        return None
    how = None
    try:
        s = line.decode("utf-8")
    except UnicodeDecodeError:
        s, how = decode_bytes(line)
    try:
        obj = json.loads(s)
    except (ValueError, RecursionError) as err:
        raise Reject("malformed_json", str(err)[:200]) from None
    if not isinstance(obj, dict):
        raise Reject("not_an_object", f"JSON {type(obj).__name__} instead of an object")
    key = _scalar(_field(obj, mapping, "id")) or str(lineno)
    text = _field(obj, mapping, "text")
    if isinstance(text, list):
        text = "\n\n".join(str(x) for x in text if isinstance(x, str))
    title = _scalar(_field(obj, mapping, "title"))
    body = paragraphs(text, mapping) if isinstance(text, str) else []
    if not body and not (title or "").strip():
        raise Reject("empty_record", "record has neither text nor title")
    return JsonRecord(
        key=clean_text(key)[:200],
        title=title,
        body=body,
        date_raw=_scalar(_field(obj, mapping, "date")),
        url=_scalar(_field(obj, mapping, "url")),
        authors=_names(_field(obj, mapping, "authors")),
        site=_scalar(_field(obj, mapping, "site")),
        how=how,
    )

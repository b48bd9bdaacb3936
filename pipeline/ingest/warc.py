"""WARC / WARC.gz crawl files via warcio: HTML ``response`` (and ``resource``) records -> pages.

Only content records count as records: ``response``, ``resource`` and ``revisit``. ``warcinfo``,
``request`` and ``metadata`` records describe the crawl, not documents, and are skipped. A content record
that is not an HTML page becomes a reject (``warc_not_html``, ``warc_http_status``, ``warc_revisit``,
``record_too_large``); the record key is the ``WARC-Record-ID`` (its byte offset when absent).

Truncation is reported, never silent: a content record whose block ends before its ``Content-Length`` (the
file was cut inside it), or framing that breaks after at least one good record (cut inside a header), is a
``truncated_record`` reject; the records before the cut are kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipeline.ingest.records import Reject

if TYPE_CHECKING:
    from _typeshed import SupportsRead  # stubs-only module; a binary file or parse.CappedReader

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml+html")


@dataclass
class WarcPage:
    key: str
    url: str | None
    crawled_at: datetime | None
    payload: bytes | None  # None when rejected
    charset: str | None
    reject: Reject | None = None


def _warc_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)


def _charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        k, _, v = part.partition("=")
        if k.strip().lower() == "charset" and v.strip():
            return v.strip().strip("\"'")
    return None


def _remaining(rec) -> int:
    """Bytes of the record's block still unread after draining it (> 0: the file ends inside the record)."""
    raw = rec.raw_stream
    while raw.read(1 << 20):
        pass
    return getattr(raw, "limit", 0) or 0


def iter_warc(stream: SupportsRead[bytes], *, max_record_bytes: int) -> Iterator[WarcPage]:
    """Yield one :class:`WarcPage` per content record; raise :class:`Reject` if the file is not a WARC."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    it = ArchiveIterator(stream, no_record_parse=False, check_digests=False)
    seen = 0
    try:
        for rec in it:
            seen += 1
            rtype = rec.rec_type
            if rtype not in ("response", "resource", "revisit"):
                continue
            h = rec.rec_headers
            key = h.get_header("WARC-Record-ID") or f"offset:{it.get_record_offset()}"
            url = h.get_header("WARC-Target-URI")
            crawled = _warc_date(h.get_header("WARC-Date"))
            page = WarcPage(key.strip("<>"), url, crawled, None, None)
            if rtype == "revisit":
                page.reject = Reject("warc_revisit", "revisit record: payload stored elsewhere")
            elif (
                rtype == "response"
                and rec.http_headers is not None
                and not (rec.http_headers.get_statuscode() or "").startswith("2")
            ):
                page.reject = Reject("warc_http_status", f"HTTP status {rec.http_headers.get_statuscode()}")
            else:
                ctype = (
                    rec.http_headers.get_header("Content-Type")
                    if rtype == "response" and rec.http_headers is not None
                    else h.get_header("Content-Type")
                ) or ""
                mime = ctype.split(";")[0].strip().lower()
                if mime not in _HTML_TYPES:
                    page.reject = Reject("warc_not_html", f"content type {mime or 'missing'}")
                else:
                    data = rec.content_stream().read(max_record_bytes + 1)
                    if len(data) > max_record_bytes:
                        page.reject = Reject("record_too_large", f"payload over {max_record_bytes} bytes")
                    else:
                        page.payload, page.charset = data, _charset(ctype)
            if (short := _remaining(rec)) > 0:
                page.payload = None
                page.reject = Reject(
                    "truncated_record", f"file ends {short} bytes before the record's Content-Length ({rec.length})"
                )
            yield page
    except Reject:
        raise  # a stream error (truncated gzip, size cap) is the file's, raised by the reader
    except (ArchiveLoadFailed, AttributeError, ValueError, EOFError) as err:
        if not seen:
            raise Reject("not_warc", str(err)[:200]) from None
        yield WarcPage(
            f"offset:{it.get_record_offset()}:cut",
            None,
            None,
            None,
            None,
            Reject(
                "truncated_record",
                f"framing breaks after record {seen} (file cut inside a header?): {type(err).__name__}: {err}"[:300],
            ),
        )

"""``parse_file``: one inbox entry -> a :class:`~.records.ParsedFile` (documents + rejects), never raising."""

from __future__ import annotations

import gzip
import os
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

import polars as pl

from pipeline.ingest.config import IngestConfig
from pipeline.ingest.dates import Candidate, file_name_date, resolve, url_date
from pipeline.ingest.decode import control_ratio, decode_bytes
from pipeline.ingest.inbox import InboxEntry
from pipeline.ingest.records import ParsedFile, Reject, document_row, documents_frame, reject_row, rejects_frame

FORMATS = {
    "html": "html",
    "htm": "html",
    "xhtml": "html",
    "shtml": "html",
    "txt": "text",
    "text": "text",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "jsonlines": "jsonl",
    "warc": "warc",
    "arc": "warc",
}
_MAGIC = (
    (b"\x89PNG", "PNG image"),
    (b"GIF8", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"RIFF", "RIFF media"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ", "xz"),
    (b"(\xb5/\xfd", "zstd"),
    (b"7z\xbc\xaf", "7z"),
    (b"\x00\x00\x01\x00", "icon"),
    (b"\x7fELF", "executable"),
    (b"OggS", "Ogg media"),
    (b"\x1a\x45\xdf\xa3", "Matroska media"),
    (b"wOFF", "web font"),
)


def detect_format(rel_path: str) -> tuple[str, str]:
    """``(format, compression)`` from the name: ``a.warc.gz`` -> (warc, gzip); unknown -> (unknown, ...)."""
    name = rel_path.rsplit("/", 1)[-1].lower()
    compression = "none"
    if name.endswith((".gz", ".gzip")):
        compression = "gzip"
        name = name.rsplit(".", 1)[0]
    ext = name.rsplit(".", 1)[-1] if "." in name else ""
    return FORMATS.get(ext, "unknown"), compression


# Running cap for gzip: past BOMB_FLOOR decompressed bytes, more than BOMB_RATIO bytes out per compressed byte
# read so far is a bomb. News text compresses 3-10x; a bomb 1000x. The fixed cap alone (2 GiB) let a 2 MB
# bomb take 2.3 GB of worker memory before it was caught; now memory stays near BOMB_FLOOR + RATIO x size.
BOMB_FLOOR = 32 << 20
BOMB_RATIO = 50


class CappedReader:
    """File-like reader that raises ``Reject`` past ``cap`` bytes (or the running gzip ratio cap) and maps gzip
    errors to reasons."""

    def __init__(self, raw: IO[bytes], cap: int, *, gz: bool):
        self._fileobj = raw
        self._raw = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        self._cap = cap
        self._gz = gz
        self._buf = b""
        self.count = 0

    def _guard(self, fn, *args) -> bytes:
        try:
            data = fn(*args)
        except EOFError:
            raise Reject("truncated_gzip", "compressed stream ends early") from None
        except (gzip.BadGzipFile, zlib.error) as err:
            raise Reject("corrupt_gzip", str(err)[:200]) from None
        self.count += len(data)
        if self._gz and self.count > BOMB_FLOOR and self.count > BOMB_RATIO * max(1, self._fileobj.tell()):
            raise Reject(
                "decompression_bomb",
                f"{self.count} bytes from {self._fileobj.tell()} compressed "
                f"(over {BOMB_RATIO}x past {BOMB_FLOOR} bytes)",
            )
        if self.count > self._cap:
            what = "decompression_bomb" if self._gz else "file_too_large"
            raise Reject(what, f"more than {self._cap} bytes" + (" after decompression" if self._gz else ""))
        return data

    def head(self, n: int = 16) -> bytes:
        """The first ``n`` bytes, still to be read again."""
        if len(self._buf) < n:
            self._buf += self._guard(self._raw.read, n - len(self._buf))
        return self._buf[:n]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self._cap + 1  # never more than the cap allows, plus one to detect excess
        buf, self._buf = self._buf[:n], self._buf[n:]
        want = n - len(buf)
        if want <= 0:
            return buf
        if not self._gz and (left := self._left()) is not None and left + 1 < want:
            # asking the OS for the cap (20 MiB for a page) costs a buffer of that size (~0.1 ms a file):
            # ask for what the file holds plus one byte, and go on only if it has grown meanwhile
            first = self._guard(self._raw.read, left + 1)
            if len(first) <= left:
                return buf + first
            return buf + first + self._guard(self._raw.read, want - len(first))
        return buf + self._guard(self._raw.read, want)

    def _left(self) -> int | None:
        """Bytes between the plain file's position and its end, when the file can tell."""
        try:
            return max(0, os.fstat(self._fileobj.fileno()).st_size - self._fileobj.tell())
        except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is an OSError and a ValueError
            return None

    def read_some(self, n: int) -> bytes:
        """Up to ``n`` bytes, at most one underlying read: a truncated stream loses nothing already decoded."""
        if self._buf:
            buf, self._buf = self._buf[:n], self._buf[n:]
            return buf
        if self._gz:
            assert isinstance(self._raw, gzip.GzipFile)  # __init__ wraps the file exactly when gz
            return self._guard(self._raw.read1, n)
        return self._guard(self._raw.read, n)

    def readline(self, limit: int = -1) -> bytes:
        if self._buf:
            i = self._buf.find(b"\n")
            if i >= 0 and (limit < 0 or i < limit):
                line, self._buf = self._buf[: i + 1], self._buf[i + 1 :]
                return line
            buf, self._buf = self._buf, b""
            rest = limit - len(buf) if limit >= 0 else -1
            return buf + (self._guard(self._raw.readline, rest) if rest != 0 else b"")
        return self._guard(self._raw.readline, limit)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._gz:
            self._raw.close()


_FLAG_OF_RULE = {
    "beats-declared": "charset_mismatch",  # a declared single-byte charset overruled by valid UTF-8
    "replace": "bytes_replaced",  # UTF-8 with a few invalid bytes replaced by U+FFFD
    "detected": "charset_guessed",  # not UTF-8, no declaration: a detector chose the charset
    "fallback": "charset_guessed",
    "legacy-article": "charset_guessed",  # an article of a mixed dump that is not UTF-8: read as cp1252
}
# documents and rejects a worker sends to the parent per message: a file's output is never one huge message
FLUSH_DOCS = 1000
FLUSH_BYTES = 4 << 20


def decoding_flags(how: str | None) -> set[str]:
    """The ``decode_flags`` a decoding decision (``codec:rule``) deserves; empty for a clean decode."""
    flag = _FLAG_OF_RULE.get(how.rsplit(":", 1)[-1]) if how else None
    return {flag} if flag else set()


def _magic(head: bytes) -> str | None:
    for sig, what in _MAGIC:
        if head.startswith(sig):
            return what
    return None


Emit = Callable[[pl.DataFrame | None, pl.DataFrame | None], None]


class _Builder:
    """Collects a file's documents and rejects. With ``emit``, they leave in parts of at most ``FLUSH_DOCS``
    rows or ``FLUSH_BYTES`` of text (the worker sends each part to the parent), so a worker never holds a
    large file's whole output; the figures (records, documents, rejects, reasons) still cover the file."""

    def __init__(
        self, entry: InboxEntry, fmt: str, config: IngestConfig, ingested_at: datetime, emit: Emit | None = None
    ):
        self.entry, self.fmt, self.config, self.at = entry, fmt, config, ingested_at
        self.emit = emit
        self.n_docs = 0
        self.reasons: Counter[str] = Counter()
        self.pending_bytes = 0
        self.flushed = 0
        self.now = (config.now or datetime.now(UTC)).astimezone(UTC)
        self.docs: list[dict] = []
        self.rejects: list[dict] = []
        self.records = 0
        self.file_reason: str | None = None
        self.file_date = file_name_date(entry.rel_path)
        self.keys: set[str] = set()
        self.decode_flags: set[str] = set()

    def reject(self, key: str | None, r: Reject) -> None:
        self.rejects.append(reject_row(self.entry.rel_path, self.entry.sha256, key, r.code, r.detail, self.at))
        self.reasons[r.code] += 1
        if key is None:
            self.file_reason = r.code
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self.emit is not None and (
            len(self.docs) + len(self.rejects) >= FLUSH_DOCS or self.pending_bytes >= FLUSH_BYTES
        ):
            self.emit(documents_frame(self.docs), rejects_frame(self.rejects))
            self.docs, self.rejects, self.pending_bytes = [], [], 0
            self.flushed += 1

    def note_decoding(self, how: str) -> set[str]:
        """Record a charset decision a reader should know about (``how`` from :func:`decode_bytes`) in the
        file's flags; return the flags for the document(s) decoded that way."""
        flags = decoding_flags(how)
        self.decode_flags |= flags
        return flags

    def unique(self, key: str, lineno: int) -> str:
        """Reserve a record key no other record of this file has (documents and rejects share the space: an
        id taken from the input may equal another line's number, and ``id@line`` may be an input id too)."""
        cand, n = (key if key not in self.keys else f"{key}@{lineno}"), 1
        while cand in self.keys:
            n += 1
            cand = f"{key}@{lineno}#{n}"
        self.keys.add(cand)
        return cand

    def add(self, key: str, cands: list[Candidate], verify: str | None = None, **fields) -> None:
        if self.file_date:
            cands = [*cands, self.file_date]
        date = resolve(cands, now=self.now, verify_text=verify)
        try:
            row = document_row(
                rel_path=self.entry.rel_path,
                sha256=self.entry.sha256 or "",
                record_key=key,
                fmt=self.fmt,
                date=date,
                ingested_at=self.at,
                **fields,
            )
        except Reject as r:
            self.reject(key, r)
            return
        self.docs.append(row)
        self.n_docs += 1
        self.pending_bytes += len(row["text"])
        self._maybe_flush()

    def html_page(self, key: str, data: bytes, *, url: str | None, charset: str | None = None, **extra) -> None:
        from pipeline.ingest.html import extract_html  # trafilatura is imported by the html module only

        self.records += 1
        try:
            if len(data) > self.config.max_html_bytes:
                raise Reject("html_too_large", f"{len(data)} bytes > {self.config.max_html_bytes}")
            if (what := _magic(data[:16])) is not None:
                raise Reject("binary_content", what)
            text, how = decode_bytes(data, declared=charset, sniff_html=True)
            flags = self.note_decoding(how)
            if control_ratio(text) > 0.05:
                raise Reject("binary_content", "mostly control characters: not text")
            # no cleaning pass over the whole page: trafilatura's loader drops characters XML cannot hold,
            # and every extracted field is cleaned (controls, NFC) in document_row
            page = extract_html(text, url=url, max_depth=self.config.max_depth)
        except Reject as r:
            self.reject(key, r)
            return
        except (RecursionError, MemoryError, ValueError) as err:
            self.reject(key, Reject("extraction_failed", f"{type(err).__name__}: {err}"[:200]))
            return
        self.add(
            key,
            page.dates,
            page.date_verify_text,
            title=page.title,
            body=page.body,
            captions=page.captions,
            authors=page.authors,
            site=page.site,
            url=page.url or url,
            decode_flags=flags,
            **extra,
        )

    def result(self, compression: str) -> ParsedFile:
        """The file's outcome; its frames hold what was not emitted yet (all of it without ``emit``)."""
        n_docs, n_rejects = self.n_docs, sum(self.reasons.values())
        if n_docs and not n_rejects:
            status, reason = "ok", None
        elif n_docs:
            status, reason = "partial", self.file_reason or self.reasons.most_common(1)[0][0]
        else:
            status = "rejected"
            if not n_rejects:
                self.reject(None, Reject("no_records", "no records found in the file"))
            reason = self.file_reason or self.reasons.most_common(1)[0][0]
        return ParsedFile(
            self.entry.rel_path,
            self.entry.sha256 or "",
            self.fmt,
            compression,
            status,
            reason,
            self.records,
            documents_frame(self.docs),
            rejects_frame(self.rejects),
            tuple(sorted(self.decode_flags)),
        )


def rejected_file(
    entry: InboxEntry,
    code: str,
    detail: str,
    *,
    ingested_at: datetime,
    fmt: str | None = None,
    compression: str | None = None,
) -> ParsedFile:
    """A whole-file reject (also used by the worker pool for timeouts and crashes)."""
    f, c = detect_format(entry.rel_path)
    row = reject_row(entry.rel_path, entry.sha256, None, code, detail, ingested_at)
    return ParsedFile(
        entry.rel_path,
        entry.sha256 or "",
        fmt or f,
        compression or c,
        "rejected",
        code,
        0,
        documents_frame([]),
        rejects_frame([row]),
    )


def parse_file(
    entry: InboxEntry, *, config: IngestConfig, ingested_at: datetime, emit: Emit | None = None
) -> ParsedFile:
    """Parse one inbox entry. Never raises: every failure is a reject with a reason code.

    ``emit(documents, rejects)``: takes the file's output in parts as it is parsed (bounded memory); the
    returned :class:`ParsedFile` then holds the figures for the whole file and the last part's rows. When the
    file turns out to be a whole-file reject after parts were emitted, ``emit(None, None)`` says: drop them.
    """
    fmt, compression = detect_format(entry.rel_path)
    b: _Builder | None = None
    if entry.kind != "file":
        code = {"symlink": "symlink", "special": "special_file"}.get(entry.kind, "unreadable")
        return rejected_file(entry, code, f"inbox entry of kind {entry.kind}", ingested_at=ingested_at)
    if entry.size == 0:
        return rejected_file(entry, "empty_file", "0 bytes", ingested_at=ingested_at)
    if entry.size > config.max_file_bytes:
        return rejected_file(
            entry, "file_too_large", f"{entry.size} bytes > {config.max_file_bytes}", ingested_at=ingested_at
        )
    try:
        with open(entry.abs_path, "rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
            fh.seek(0)
            if compression == "gzip" and not gz:
                raise Reject("corrupt_gzip", "named .gz but not gzip data")
            compression = "gzip" if gz else "none"
            cap = config.max_decompressed_bytes if gz else config.max_file_bytes
            stream = CappedReader(fh, cap, gz=gz)
            try:
                head = stream.head(16)
                if not head:
                    raise Reject("empty_file", "gzip of 0 bytes")
                if fmt == "unknown" and head.startswith(b"WARC/"):
                    fmt = "warc"
                if fmt == "unknown":
                    raise Reject("unknown_format", "extension not one of " + ", ".join(sorted(FORMATS)))
                if (what := _magic(head)) is not None:
                    raise Reject("binary_content", what)
                b = _Builder(entry, fmt, config, ingested_at, emit)
                try:
                    _PARSERS[fmt](b, stream)
                except Reject as r:  # a stream error after some records: keep what was parsed
                    b.reject(None, r)
            finally:
                stream.close()
        return b.result(compression)
    except Reject as r:
        _drop_emitted(b)
        return rejected_file(entry, r.code, r.detail, ingested_at=ingested_at, fmt=fmt, compression=compression)
    except OSError as err:  # FileNotFoundError: moved away after the scan (retried on the next run)
        _drop_emitted(b)
        code = "vanished" if isinstance(err, FileNotFoundError) else "unreadable"
        return rejected_file(entry, code, str(err)[:200], ingested_at=ingested_at, fmt=fmt, compression=compression)
    except Exception as err:  # a bug or a library failure must not take the batch down
        _drop_emitted(b)
        return rejected_file(
            entry,
            "parse_error",
            f"{type(err).__name__}: {err}"[:300],
            ingested_at=ingested_at,
            fmt=fmt,
            compression=compression,
        )


def _drop_emitted(b: _Builder | None) -> None:
    """The file became a whole-file reject after some parts were emitted: they must not be written."""
    if b is not None and b.flushed and b.emit is not None:
        b.emit(None, None)


def _read_all(b: _Builder, stream: CappedReader, cap: int, code: str) -> bytes:
    data = stream.read(cap + 1)
    if len(data) > cap:
        raise Reject(code, f"more than {cap} bytes")
    return data


def _parse_html(b: _Builder, stream: CappedReader) -> None:
    data = _read_all(b, stream, b.config.max_html_bytes, "html_too_large")
    b.html_page("0", data, url=None)


def _parse_text(b: _Builder, stream: CappedReader) -> None:
    from pipeline.ingest.textdump import DumpText, iter_articles

    data, cut = bytearray(), None
    try:  # chunked, so a truncated .gz still yields the articles before the cut (the cap is the reader's)
        checked = False
        while chunk := stream.read_some(1 << 20):
            data += chunk
            if not checked and len(data) >= 65536:  # binary input is refused before the whole file is held
                checked = True
                if control_ratio(decode_bytes(bytes(data[:65536]))[0]) > 0.05:
                    raise Reject("binary_content", "control characters: not text")
    except Reject as r:
        if r.code != "truncated_gzip":
            raise
        cut = r
    dump = DumpText(data, cut=cut is not None)
    del data  # the dump holds the bytes; articles are decoded and parsed one at a time
    for how in dump.hows:
        b.note_decoding(how)
    if dump.mixed:
        b.decode_flags.add("mixed_encodings")
    if control_ratio(dump.head()) > 0.05:
        raise Reject("binary_content", "control characters: not text")
    for art in iter_articles(dump.blocks):
        b.records += 1
        cands = [Candidate(art.date_raw, "text")] if art.date_raw else []
        flags = decoding_flags(art.how) | ({"mixed_encodings"} if dump.mixed else set())
        b.add(str(art.index), cands, title=art.title, body=art.body, captions=art.captions, decode_flags=flags)
    if cut is not None:
        raise cut  # after the complete articles: recorded as the file's reason, status partial


def _parse_jsonl(b: _Builder, stream: CappedReader) -> None:
    from pipeline.ingest.jsonl import parse_record, read_lines

    m = b.config.jsonl
    if control_ratio(decode_bytes(stream.head(65536))[0]) > 0.05:  # not one reject per line of random bytes
        raise Reject("binary_content", "control characters: not JSON lines")
    for lineno, line in read_lines(stream, max_line_bytes=b.config.max_html_bytes):
        if line is None:
            b.records += 1
            too_large = Reject("record_too_large", f"line over {b.config.max_html_bytes} bytes")
            b.reject(b.unique(str(lineno), lineno), too_large)
            continue
        try:
            rec = parse_record(line, lineno, m)
        except Reject as r:
            b.records += 1
            b.reject(b.unique(str(lineno), lineno), r)
            continue
        if rec is None:
            continue
        b.records += 1
        cands = [Candidate(rec.date_raw, "record_field", fmt=m.date_format, tz=m.date_timezone)] if rec.date_raw else []
        if (u := url_date(rec.url)) is not None:
            cands.append(u)
        b.add(
            b.unique(rec.key, lineno),
            cands,
            title=rec.title,
            body=rec.body,
            authors=rec.authors,
            site=rec.site,
            url=rec.url,
            decode_flags=b.note_decoding(rec.how) if rec.how else set(),
        )


def _parse_warc(b: _Builder, stream: CappedReader) -> None:
    from pipeline.ingest.warc import iter_warc

    for page in iter_warc(stream, max_record_bytes=b.config.max_html_bytes):
        key = b.unique(page.key, b.records)
        if page.reject is not None:
            b.records += 1
            b.reject(key, page.reject)
            continue
        b.html_page(key, page.payload or b"", url=page.url, charset=page.charset, crawled_at=page.crawled_at)


_PARSERS = {"html": _parse_html, "text": _parse_text, "jsonl": _parse_jsonl, "warc": _parse_warc}

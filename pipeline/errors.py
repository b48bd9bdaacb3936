"""One error root for newslake, and the vocabulary of reject reasons.

Every error newslake raises on purpose derives from :class:`NewslakeError`, so a caller can catch the
library's own failures apart from bugs. Reject reasons are a checked vocabulary (:class:`RejectReason`): the
README's table of reasons is generated from it (``python -m pipeline.errors``) and a test keeps the two in
step, as ``pipeline.schema`` does for the tables.
"""

from __future__ import annotations

from enum import StrEnum


class NewslakeError(Exception):
    """Root of every error newslake raises on purpose."""


class SchemaMismatch(NewslakeError, RuntimeError):
    """A stored table's schema differs from its declaration in :mod:`pipeline.schema`."""


class InvalidDate(NewslakeError, ValueError):
    """A value that must be a ``YYYY-MM-DD`` date (or a partition key) is not one."""


class ConfigError(NewslakeError, ValueError):
    """A settings file or value that newslake cannot use."""


class MissingTable(NewslakeError, LookupError):
    """A stage needs an upstream table that does not exist yet."""


class RejectReason(StrEnum):
    """Why a file or record did not become a document (``rejects.reason``, ``files.reason``).

    Each member's value is the stored code. :attr:`level` says whether it applies to a whole file, one
    record, or either; :attr:`meaning` is the README's explanation.
    """

    level: str
    meaning: str

    def __new__(cls, code: str, level: str, meaning: str) -> RejectReason:
        member = str.__new__(cls, code)
        member._value_ = code
        member.level = level
        member.meaning = meaning
        return member

    SYMLINK = "symlink", "file", "inbox entry is a symlink (never followed)"
    SPECIAL_FILE = "special_file", "file", "FIFO, socket or device"
    UNREADABLE = "unreadable", "file", "could not be read (permissions, I/O error); retried on the next run"
    VANISHED = "vanished", "file", "deleted or moved between the inbox scan and parsing; retried on the next run"
    REPAIR_PENDING = "repair_pending", "file", "`newslake doctor --repair` lost some of its rows: parsed again next run"
    CODE_CHANGED = "code_changed", "file", "parsed by older ingest code; `newslake run --stale` parses it again now"
    HIDDEN_FILE = "hidden_file", "file", "dot file or dot directory (one row, not read)"
    BAD_FILE_NAME = "bad_file_name", "file", "name is not valid UTF-8 (path stored with `\\xNN` escapes; not read)"
    LAKE_IN_INBOX = "lake_in_inbox", "file", "the lake or the Dagster home lies inside the inbox (refused, not read)"
    EMPTY_FILE = "empty_file", "file", "0 bytes (or gzip of 0 bytes)"
    FILE_TOO_LARGE = "file_too_large", "file", "over `max_file_bytes` on disk"
    UNKNOWN_FORMAT = "unknown_format", "file", "extension not recognised and content not a WARC"
    BINARY_CONTENT = "binary_content", "both", "image/PDF/archive magic bytes or mostly control characters"
    CORRUPT_GZIP = "corrupt_gzip", "file", "`.gz` that is not valid gzip"
    TRUNCATED_GZIP = "truncated_gzip", "file", "gzip stream ends early (records before the cut are kept)"
    DECOMPRESSION_BOMB = "decompression_bomb", "file", "more than `max_decompressed_bytes` after gunzip"
    NOT_WARC = "not_warc", "file", "WARC framing broken"
    NO_RECORDS = "no_records", "file", "nothing record-like in the file"
    TIMEOUT = "timeout", "file", "parsing exceeded the time limit; retried on the next run"
    WORKER_CRASHED = "worker_crashed", "file", "the worker process died (segfault, OOM kill); retried"
    PARSE_ERROR = "parse_error", "file", "unexpected library error (a bug: detail has the exception)"
    HTML_TOO_LARGE = "html_too_large", "record", "page over `max_html_bytes`"
    NOT_HTML = "not_html", "record", "no markup / no parsable tree"
    TOO_DEEP = "too_deep", "record", "element nesting deeper than `max_depth`"
    NO_ARTICLE = "no_article", "record", "no article body found (index pages, link lists, empty pages)"
    EXTRACTION_FAILED = "extraction_failed", "record", "the extractor raised on this page"
    EMPTY_RECORD = "empty_record", "record", "no title and no body text"
    MALFORMED_JSON = "malformed_json", "record", "JSONL line is not valid JSON"
    NOT_AN_OBJECT = "not_an_object", "record", "JSONL line is JSON but not an object"
    RECORD_TOO_LARGE = "record_too_large", "record", "JSONL line or WARC payload over `max_html_bytes`"
    WARC_NOT_HTML = "warc_not_html", "record", "WARC response/resource record that is not HTML"
    WARC_HTTP_STATUS = "warc_http_status", "record", "WARC response with a non-2xx HTTP status"
    WARC_REVISIT = "warc_revisit", "record", "WARC revisit record (payload stored elsewhere)"
    TRUNCATED_RECORD = "truncated_record", "record", "WARC record cut short (payload shorter than Content-Length)"


def markdown() -> str:
    """The README's table of reject reasons."""
    rows = ["| reason | level | meaning |", "|---|---|---|"]
    rows += [f"| `{r.value}` | {r.level} | {r.meaning} |" for r in RejectReason]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown())

"""Stage ``ingest``: raw inbox files -> ``files``, ``documents`` and ``rejects`` (:func:`run` is the runner).

Formats (by extension, after an optional ``.gz``; gzip is also recognised by its magic bytes): HTML
(``.html .htm .xhtml .shtml``), plain-text dumps (``.txt .text``), JSONL (``.jsonl .ndjson .jsonlines``,
field mapping in :class:`JsonlMapping`), WARC (``.warc``, ``.warc.gz``, or any file starting ``WARC/``).

Entry points: :func:`scan_inbox`, :func:`parse_file`, :func:`parse_files` (worker processes, time limit).
Dates: see :mod:`pipeline.ingest.dates` for flags and precedence. Record keys: JSONL id field (else line
number), text-dump article index, WARC-Record-ID, ``"0"`` for an HTML page; ``doc_id`` = first 16 hex of
sha256(``rel_path + "\\0" + record_key``).

Reason codes (``rejects.reason``; ``files.reason`` carries the file's main one). ``record_key`` is NULL for
whole-file reasons.

======================  =====  ==============================================================================
code                    level  meaning
======================  =====  ==============================================================================
symlink                 file   inbox entry is a symlink (never followed)
special_file            file   FIFO, socket or device
unreadable              file   could not be read (permissions, I/O error); retried on the next run
vanished                file   deleted or moved between the inbox scan and parsing; retried on the next run
repair_pending          file   ``newslake doctor --repair`` lost some of its rows: parsed again on the next run
code_changed            file   parsed by older ingest code; ``newslake run --stale`` parses it again now
hidden_file             file   dot file or dot directory (one row, not read)
bad_file_name           file   name is not valid UTF-8 (path stored with ``\\xNN`` escapes; not read)
lake_in_inbox           file   the lake or the Dagster home lies inside the inbox (refused, not read)
empty_file              file   0 bytes (or gzip of 0 bytes)
file_too_large          file   over ``max_file_bytes`` on disk
unknown_format          file   extension not recognised and content not a WARC
binary_content          both   image/PDF/archive magic bytes or mostly control characters
corrupt_gzip            file   ``.gz`` that is not valid gzip
truncated_gzip          file   gzip stream ends early (records before the cut are kept: status partial)
decompression_bomb      file   more than ``max_decompressed_bytes`` after gunzip
not_warc                file   WARC framing broken
no_records              file   nothing record-like in the file (blank JSONL, WARC without content records)
timeout                 file   parsing exceeded the time limit; the worker was killed
worker_crashed          file   the worker process died (segfault, OOM kill)
parse_error             file   unexpected library error (a bug: detail has the exception)
html_too_large          rec    page over ``max_html_bytes``
not_html                rec    no markup / no parsable tree
too_deep                rec    element nesting deeper than ``max_depth``
no_article              rec    no article body found (index pages, empty pages)
extraction_failed       rec    the extractor raised on this page
empty_record            rec    no title and no body text
malformed_json          rec    JSONL line is not valid JSON
not_an_object           rec    JSONL line is JSON but not an object
record_too_large        rec    JSONL line or WARC payload over ``max_html_bytes``
warc_not_html           rec    WARC response/resource record that is not HTML
warc_http_status        rec    WARC response with a non-2xx HTTP status
warc_revisit            rec    WARC revisit record (payload stored elsewhere)
truncated_record        rec    WARC record cut short (payload shorter than its ``Content-Length``)
======================  =====  ==============================================================================

File ``status``: ``ok`` (documents, no rejects), ``partial`` (documents and rejects), ``rejected`` (no
documents). Reconciliation: ``records == documents + record-level rejects`` for every file.
"""

from pipeline.ingest.checks import date_problems, unreconciled
from pipeline.ingest.config import IngestConfig, JsonlMapping
from pipeline.ingest.inbox import InboxEntry, scan_inbox
from pipeline.ingest.parse import detect_format, parse_file
from pipeline.ingest.records import ParsedFile
from pipeline.ingest.runner import IngestReport, run, run_stage
from pipeline.ingest.workers import WorkerPool, parse_files

__all__ = [
    "IngestConfig",
    "IngestReport",
    "InboxEntry",
    "JsonlMapping",
    "ParsedFile",
    "detect_format",
    "parse_file",
    "parse_files",
    "WorkerPool",
    "run",
    "run_stage",
    "scan_inbox",
    "date_problems",
    "unreconciled",
]

"""Ingestion configuration: the JSONL field mapping and resource limits, loadable from TOML.

Example ``ingest.toml`` (every key optional; units are bytes and seconds)::

    workers = 2
    timeout_s = 60
    max_file_bytes = 1_073_741_824

    [jsonl]                       # field mapping for JSONL/NDJSON records; dotted paths allowed
    id = "newid"
    title = "title"
    text = "body"
    date = "date"
    date_format = "%d-%b-%Y %H:%M:%S%.f"   # "%.f" = optional fraction (polars style)
    date_timezone = "UTC"
    paragraph_pattern = '\\n {3,}'          # Reuters: a new paragraph starts with an indented line
    unwrap_lines = true
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from datetime import datetime
from pathlib import Path

MiB = 1 << 20


@dataclass(frozen=True)
class JsonlMapping:
    """Where a JSONL record keeps each document field (dotted paths reach into nested objects).

    A field left ``None`` is auto-detected from common names (``id``/``doc_id``/``newid``..., ``title``/
    ``headline``, ``text``/``body``/``content``, ``date``/``published``..., ``url``/``link``, ``authors``/
    ``author``, ``site``/``source``); ``id`` falls back to the line number.
    """

    id: str | None = None
    title: str | None = None
    text: str | None = None
    date: str | None = None
    url: str | None = None
    authors: str | None = None
    site: str | None = None
    date_format: str | None = None  # strptime/polars-style format for raw dates, e.g. "%d-%b-%Y %H:%M:%S%.f"
    date_timezone: str = "UTC"  # zone of naive dates
    paragraph_pattern: str | None = None  # regex separating paragraphs in the text field (default: blank lines)
    unwrap_lines: bool = False  # join hard-wrapped lines inside a paragraph


@dataclass(frozen=True)
class IngestConfig:
    """Everything parsing needs. Limits make untrusted input fail fast with a reason instead of hanging.

    ``timeout_s`` is the wall-clock limit per file; files larger than 8 MiB get ``timeout_s`` more per
    further 8 MiB (a WARC holds many pages).
    """

    jsonl: JsonlMapping = field(default_factory=JsonlMapping)
    workers: int = 2
    timeout_s: float = 60.0
    max_file_bytes: int = 1024 * MiB  # on disk
    max_decompressed_bytes: int = 2048 * MiB  # after gunzip (bomb guard)
    max_html_bytes: int = 20 * MiB  # one HTML page (file or WARC record), decoded
    max_depth: int = 250  # element nesting; lxml stops nesting at 256 and trafilatura fails there anyway
    now: datetime | None = None  # "now" for future-date checks (None = real now, UTC)

    @classmethod
    def from_toml(cls, path: str | Path) -> IngestConfig:
        """Read a TOML file (see the module docstring); unknown keys are an error."""
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
        mapping = raw.pop("jsonl", {})
        known = {f.name for f in fields(JsonlMapping)}
        bad = set(mapping) - known
        if bad:
            raise ValueError(f"unknown [jsonl] keys in {path}: {sorted(bad)}")
        known_top = {f.name for f in fields(cls)} - {"jsonl"}
        bad = set(raw) - known_top
        if bad:
            raise ValueError(f"unknown keys in {path}: {sorted(bad)}")
        if isinstance(raw.get("now"), datetime) and raw["now"].tzinfo is None:
            raise ValueError("'now' must carry a UTC offset")
        return cls(jsonl=JsonlMapping(**mapping), **raw)

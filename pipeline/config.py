"""One settings object for every stage, loaded from one TOML file.

Precedence, highest first: command-line flag > environment > settings file > defaults. No committed file
sets anything: the defaults live here, and the environment always wins over a file.

Example ``newslake.toml`` (every key optional)::

    inbox = "data/inbox"
    lake = "data/lake"

    [ingest]                 # pipeline.ingest.IngestConfig
    workers = 2
    [ingest.jsonl]           # JSONL field mapping, see pipeline.ingest.config
    text = "body"

    [dedup]                  # pipeline.dedup.DedupConfig
    window_days = 30         # or "unlimited"

    [sentences]              # pipeline.sentences.SegmentConfig
    [entities]               # pipeline.entities.TaggerConfig
    model = "en_core_web_sm"
    [maintenance]            # pipeline.maintenance.MaintenanceConfig
    retention_hours = 168

A file in the older ingest-only format (top-level ingest keys and ``[jsonl]``) is read as ``[ingest]``.
Environment: ``NEWSLAKE_CONFIG`` (the file; ``NEWSLAKE_INGEST_CONFIG`` is an alias), ``NEWSLAKE_INBOX``,
``NEWSLAKE_LAKE``, ``NEWSLAKE_WORKERS`` (ingestion and tagging worker processes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pipeline.dedup.config import DedupConfig
from pipeline.entities.tagger import TaggerConfig
from pipeline.errors import ConfigError
from pipeline.ingest.config import IngestConfig, JsonlMapping
from pipeline.maintenance import MaintenanceConfig
from pipeline.sentences.split import SegmentConfig

DEFAULT_INBOX = "data/inbox"
DEFAULT_LAKE = "data/lake"
_SECTIONS = ("ingest", "dedup", "sentences", "entities", "maintenance")


def available_cpus() -> int:
    """CPUs this process may run on (affinity and cgroup-limited where the OS says so), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _default_entities() -> TaggerConfig:
    return TaggerConfig(n_process=available_cpus())


def _default_ingest() -> IngestConfig:
    return IngestConfig(workers=available_cpus())


@dataclass(frozen=True)
class Settings:
    """Everything a run needs: where the data is and each stage's options."""

    inbox: str = DEFAULT_INBOX
    lake: str = DEFAULT_LAKE
    ingest: IngestConfig = field(default_factory=_default_ingest)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    sentences: SegmentConfig = field(default_factory=SegmentConfig)
    entities: TaggerConfig = field(default_factory=_default_entities)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    source: str | None = None  # the settings file read, if any

    @classmethod
    def from_toml(cls, path: str | Path) -> Settings:
        """Read one settings file; unknown sections or keys are an error naming them."""
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
        return cls.from_mapping(raw, source=str(path))

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any], *, source: str | None = None) -> Settings:
        raw = dict(raw)
        legacy = {k: raw.pop(k) for k in list(raw) if k not in (*_SECTIONS, "inbox", "lake")}
        if legacy:  # the ingest-only format of earlier versions
            section = dict(raw.get("ingest", {}))
            section.update(legacy)
            raw["ingest"] = section
        base = cls()
        return cls(
            inbox=str(raw.get("inbox", base.inbox)),
            lake=str(raw.get("lake", base.lake)),
            ingest=_ingest(raw.get("ingest", {}), base.ingest, source),
            dedup=_section(DedupConfig, raw.get("dedup", {}), base.dedup, source, "dedup"),
            sentences=_section(SegmentConfig, raw.get("sentences", {}), base.sentences, source, "sentences"),
            entities=_section(TaggerConfig, raw.get("entities", {}), base.entities, source, "entities"),
            maintenance=_section(
                MaintenanceConfig, raw.get("maintenance", {}), base.maintenance, source, "maintenance"
            ),
            source=source,
        )

    @classmethod
    def load(
        cls,
        *,
        config_file: str | None = None,
        inbox: str | None = None,
        lake: str | None = None,
        workers: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Flags (the keyword arguments) > environment > settings file > defaults."""
        env = os.environ if environ is None else environ
        path = config_file or env.get("NEWSLAKE_CONFIG") or env.get("NEWSLAKE_INGEST_CONFIG") or None
        settings = cls.from_toml(path) if path else cls()
        inbox = inbox or env.get("NEWSLAKE_INBOX") or settings.inbox
        lake = lake or env.get("NEWSLAKE_LAKE") or settings.lake
        raw_workers = workers if workers is not None else env.get("NEWSLAKE_WORKERS")
        changes: dict[str, Any] = {"inbox": inbox, "lake": lake}
        if raw_workers not in (None, ""):
            try:
                n = int(raw_workers)
            except ValueError:
                raise ConfigError(f"NEWSLAKE_WORKERS must be an integer, got {raw_workers!r}") from None
            changes["ingest"] = dataclasses.replace(settings.ingest, workers=max(n, 0))
            changes["entities"] = dataclasses.replace(settings.entities, n_process=max(n, 1))
        return dataclasses.replace(settings, **changes)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (JSON-able): what a run used, for provenance."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=_plain))

    def digest(self, stage: str | None = None) -> str:
        """Short stable hash of the settings that change outputs: of one stage's section (``"dedup"``,
        ``"sentences"``...), which is what that stage's tables record, or of every section (paths, file name
        and speed-only options excluded)."""
        data = self.as_dict()
        for key in ("inbox", "lake", "source"):
            data.pop(key, None)
        for section, keys in _SPEED_ONLY.items():
            for key in keys:
                data[section].pop(key, None)
        if stage is not None:
            if stage not in _SECTIONS:
                raise ConfigError(f"no settings section {stage!r}; sections: {', '.join(_SECTIONS)}")
            data = data[stage]
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# Options that change how fast a stage runs, never what it writes. (matmul: the same entities, see TaggerConfig)
_SPEED_ONLY = {"ingest": ("workers",), "entities": ("n_process", "start", "matmul")}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _section(kind, values: Mapping[str, Any], base, source, name: str):
    if not isinstance(values, Mapping):
        raise ConfigError(f"[{name}] must be a table in {source}")
    known = {f.name for f in fields(kind)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown keys in [{name}] of {source}: {sorted(unknown)}")
    values = dict(values)
    if name == "dedup" and values.get("window_days") in ("unlimited", "none", -1):
        values["window_days"] = None  # TOML has no null: one spelling for "every earlier day"
    try:
        return dataclasses.replace(base, **values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"[{name}] in {source}: {exc}") from exc


def _ingest(values: Mapping[str, Any], base: IngestConfig, source) -> IngestConfig:
    values = dict(values)
    mapping = values.pop("jsonl", {})
    known = {f.name for f in fields(JsonlMapping)}
    unknown = set(mapping) - known
    if unknown:
        raise ConfigError(f"unknown [jsonl] keys in {source}: {sorted(unknown)}")
    if isinstance(values.get("now"), datetime) and values["now"].tzinfo is None:
        raise ConfigError("'now' must carry a UTC offset")
    out = _section(IngestConfig, values, base, source, "ingest")
    return dataclasses.replace(out, jsonl=JsonlMapping(**mapping)) if mapping else out

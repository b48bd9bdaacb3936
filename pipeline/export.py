"""Export a release as plain files anyone can read and verify: Parquet (or CSV / JSON lines), a datasheet and a
machine-readable manifest.

Every exported table is read at the version the release names, sorted by ``pub_date`` (undated first) and its
other plain columns, and written as one file. ``manifest.json`` carries, per table, the file's sha256, the rows
and the release's content digest (``pipeline.releases.frame_digest``: independent of file layout), the columns
and their meaning from ``pipeline/schema.py`` and rows per day; for the lake, duplicates removed, rejects by
reason, code and model versions and the source files with their hashes. ``verify`` recomputes all of it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline import releases
from pipeline.schema import DATA_TABLES, TABLES, Table, _type_name
from pipeline.storage import Lake

FORMATS = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}
ROW_GROUP_BYTES = 64 * 1024 * 1024  # row groups of ~64 MB in memory: big enough to scan fast, small to skip


class ExportError(ValueError):
    """The export cannot be written or does not verify."""


def sorted_frame(table: Table, df: pl.DataFrame) -> pl.DataFrame:
    """The table's rows in export order: ``pub_date`` (NULL first), then every plain column in schema order."""
    plain = [c for c, t in df.schema.items() if not t.is_nested() and c != "pub_date"]
    keys = ["pub_date", *plain] if "pub_date" in df.columns else plain
    return df.sort(keys, nulls_last=False, maintain_order=True)


def nested_as_json(df: pl.DataFrame) -> pl.DataFrame:
    """List and struct columns as JSON text (for CSV, which has neither); NULL stays NULL."""
    nested = [c for c, t in df.schema.items() if t.is_nested()]
    # {"v":<json>} minus its first five and last character is the value's JSON
    return df.with_columns(
        pl.when(pl.col(c).is_null())
        .then(None)
        .otherwise(pl.struct(pl.col(c).alias("v")).struct.json_encode().str.slice(5).str.strip_suffix("}"))
        .alias(c)
        for c in nested
    )


def binary_as_hex(df: pl.DataFrame) -> pl.DataFrame:
    """Binary columns (``signatures.tokens``) as hex text, for CSV and JSON lines, which have no bytes."""
    return df.with_columns(pl.col(c).bin.encode("hex") for c, t in df.schema.items() if t == pl.Binary)


def _arrow(table: Table, df: pl.DataFrame) -> pa.Table:
    """Plain Arrow types (large strings, never views) with each column's meaning as field metadata."""
    at = df.to_arrow()
    docs = {c.name: c.doc for c in table.columns}
    fields = [f.with_metadata({"description": docs.get(f.name, "")}) for f in at.schema]
    return at.cast(pa.schema(fields, metadata={"description": table.doc}))


def _write(table: Table, df: pl.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        at = _arrow(table, df)
        per_row = max(1, at.nbytes // max(1, at.num_rows))
        pq.write_table(
            at,
            path,
            compression="zstd",
            row_group_size=int(min(1_000_000, max(1_000, ROW_GROUP_BYTES // per_row))),
            write_statistics=True,
        )
    elif fmt == "csv":
        nested_as_json(binary_as_hex(df)).write_csv(path)
    else:
        binary_as_hex(df).write_ndjson(path)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _rows_per_day(df: pl.DataFrame) -> dict[str, int]:
    if "pub_date" not in df.columns or df.height == 0:
        return {}
    counts = df.group_by("pub_date").len().sort("pub_date", nulls_last=False)
    return {("undated" if d is None else d.isoformat()): int(n) for d, n in counts.iter_rows()}


def _lake_facts(lake: Lake, versions: dict[str, int | None]) -> dict:
    """Duplicates removed, rejects by reason and the source files, as of the release."""
    dups = releases.read_at(lake, TABLES["duplicates"], versions.get("duplicates"))
    removed = dups.filter(~pl.col("is_canonical"))
    rejects = releases.read_at(lake, TABLES["rejects"], versions.get("rejects"))
    files = releases.read_at(lake, TABLES["files"], versions.get("files")).sort("path")
    by_reason = rejects.group_by("reason").len().sort(["len", "reason"], descending=[True, False])
    return {
        "duplicates_removed": {
            "total": removed.height,
            "by_method": {m: int(n) for m, n in removed.group_by("method").len().sort("method").iter_rows()},
            "documents_clustered": dups.height,
        },
        "rejects_by_reason": {r: int(n) for r, n in by_reason.iter_rows()},
        "sources": [
            {k: row[k] for k in ("path", "sha256", "size", "format", "status", "documents")}
            for row in files.iter_rows(named=True)
        ],
    }


def export(lake: Lake, release: str, to: Path, *, tables: list[str] | None = None, fmt: str = "parquet") -> dict:
    """Write release ``release`` under ``to`` (a new or empty folder); return the manifest."""
    if fmt not in FORMATS:
        raise ExportError(f"format is one of {', '.join(FORMATS)}: {fmt!r}")
    rows = releases.get(lake, release)
    names = tables or [t.name for t in DATA_TABLES]
    unknown = [n for n in names if n not in {t.name for t in DATA_TABLES}]
    if unknown:
        raise ExportError(f"unknown tables {unknown}; tables: {', '.join(t.name for t in DATA_TABLES)}")
    to = Path(to)
    if to.exists() and any(to.iterdir()):
        raise ExportError(f"{to} is not empty; export into a new folder")
    to.mkdir(parents=True, exist_ok=True)
    info = {r["table_name"]: r for r in rows.iter_rows(named=True)}
    versions = {n: r["version"] for n, r in info.items()}
    first = rows.row(0, named=True)
    manifest: dict = {
        "release": release,
        "created_at": first["created_at"].astimezone(UTC).isoformat(),
        "exported_at": datetime.now(UTC).isoformat(),
        "note": first["note"],
        "format": fmt,
        "provenance": json.loads(first["provenance"] or "{}"),
        "tables": {},
    }
    for name in names:
        table, rel = TABLES[name], info[name]
        df = sorted_frame(table, releases.read_at(lake, table, rel["version"]))
        n, digest = releases.frame_digest(table, df)
        if (n, digest) != (rel["rows"], rel["content_sha256"]):
            raise ExportError(f"{name} at v{rel['version']} no longer reads as released (rows {n} vs {rel['rows']})")
        path = to / f"{name}{FORMATS[fmt]}"
        _write(table, df, path, fmt)
        manifest["tables"][name] = {
            "file": path.name,
            "sha256": sha256_file(path),
            "bytes": path.stat().st_size,
            "rows": n,
            "content_sha256": digest,
            "delta_version": rel["version"],
            "description": table.doc,
            "partitioned_by": table.partition_by,
            "columns": [{"name": c.name, "type": _type_name(c.dtype), "meaning": c.doc} for c in table.columns],
            "rows_per_day": _rows_per_day(df),
        }
    manifest.update(_lake_facts(lake, versions))
    (to / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    (to / "DATASHEET.md").write_text(datasheet(manifest))
    return manifest


def datasheet(m: dict) -> str:
    """A human-readable datasheet of an export, from its manifest."""
    prov = m.get("provenance", {})
    code = prov.get("code", {})
    out = [
        f"# newslake release `{m['release']}`",
        "",
        f"Created {m['created_at']}; exported {m['exported_at']} as {m['format']}.",
        "",
        f"Note: {m['note'] or '(none)'}",
        "",
        "## Provenance",
        "",
        f"- package version: {code.get('package_version', 'unknown')}; git commit: {code.get('git_commit', 'unknown')}",
        f"- stage code versions: {', '.join(f'{k} {v}' for k, v in prov.get('stage_versions', {}).items())}",
        f"- entity models: {', '.join(prov.get('models', [])) or 'none'}",
        "",
        "## Files",
        "",
        "Verify a copy: `sha256sum` of each file equals its sha256 here (also in `manifest.json`).",
        "",
        "| table | file | rows | sha256 | content digest | Delta version |",
        "|---|---|---:|---|---|---:|",
    ]
    for name, t in m["tables"].items():
        out.append(
            f"| {name} | {t['file']} | {t['rows']} | `{t['sha256']}` | `{t['content_sha256']}` | {t['delta_version']} |"
        )
    d = m["duplicates_removed"]
    out += [
        "",
        "## Deduplication",
        "",
        f"{d['total']} of {d['documents_clustered']} dated documents removed as "
        f"duplicates ({', '.join(f'{k}: {v}' for k, v in d['by_method'].items()) or 'none'}).",
    ]
    out += ["", "## Rejects by reason", "", "| reason | count |", "|---|---:|"]
    out += [f"| {r} | {n} |" for r, n in m["rejects_by_reason"].items()]
    out += ["", "## Sources", "", "| inbox file | sha256 | status | documents |", "|---|---|---|---:|"]
    out += [f"| {s['path']} | `{s['sha256']}` | {s['status']} | {s['documents']} |" for s in m["sources"]]
    for name, t in m["tables"].items():
        part = f"partitioned by `{t['partitioned_by']}`" if t["partitioned_by"] else "not partitioned"
        out += [
            "",
            f"## Table `{name}` ({part})",
            "",
            t["description"],
            "",
            "| column | type | meaning |",
            "|---|---|---|",
        ]
        out += [f"| `{c['name']}` | {c['type']} | {c['meaning'].replace('|', '/')} |" for c in t["columns"]]
        if t["rows_per_day"]:
            out += ["", "Rows per day: " + ", ".join(f"{d} {n}" for d, n in t["rows_per_day"].items())]
    return "\n".join(out) + "\n"


def read_back(folder: Path, name: str, fmt: str) -> pl.DataFrame:
    """An exported table read back with the declared types (Parquet or JSON lines)."""
    table, path = TABLES[name], Path(folder) / f"{name}{FORMATS[fmt]}"
    if fmt == "parquet":
        return releases.conform_read(table, pl.read_parquet(path))
    if fmt == "jsonl":
        binary = [c for c, t in table.schema.items() if t == pl.Binary]
        text = pl.read_ndjson(path, schema={c: pl.String if c in binary else t for c, t in table.schema.items()})
        return releases.conform_read(table, text.with_columns(pl.col(c).str.decode("hex") for c in binary))
    raise ExportError("CSV is verified by file checksum only (it has no types)")


def verify(folder: Path) -> list[str]:
    """Problems found in an export (empty: every file and every table's content matches the manifest)."""
    folder = Path(folder)
    m = json.loads((folder / "manifest.json").read_text())
    problems = []
    for name, t in m["tables"].items():
        path = folder / t["file"]
        if not path.exists():
            problems.append(f"{t['file']}: missing")
            continue
        if sha256_file(path) != t["sha256"]:
            problems.append(f"{t['file']}: sha256 differs from the manifest")
            continue
        if m["format"] != "csv":
            try:
                rows, digest = releases.frame_digest(TABLES[name], read_back(folder, name, m["format"]))
            except Exception as exc:  # noqa: BLE001 - any unreadable file is a finding, not a crash
                problems.append(f"{t['file']}: unreadable ({exc})")
                continue
            if (rows, digest) != (t["rows"], t["content_sha256"]):
                problems.append(f"{t['file']}: content differs from the release ({rows} rows)")
    return problems

"""Materialization metadata shared by every asset: row count, schema, preview, Delta version."""

from __future__ import annotations

import time

import dagster as dg
import polars as pl

from pipeline import progress
from pipeline.schema import Table

_DAGSTER_TYPES = {pl.String: "string", pl.Date: "date", pl.Boolean: "boolean", pl.Float64: "double"}


def column_schema(table: Table) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, _DAGSTER_TYPES.get(c.dtype, str(c.dtype)), description=c.doc)
                 for c in table.columns]
    )


def preview(df: pl.DataFrame, *, rows: int = 10, max_chars: int = 60) -> dg.MarkdownMetadataValue:
    def shorten(c: str, t: pl.DataType) -> pl.Expr:
        is_list = isinstance(t, pl.List)
        col = pl.col(c).list.eval(pl.element().cast(pl.String)).list.join(", ") if is_list else pl.col(c)
        return col.str.replace_all(r"[\n|]", " ").str.slice(0, max_chars).alias(c)

    shown = df.head(rows).with_columns(
        [shorten(c, t) for c, t in df.schema.items() if t == pl.String or isinstance(t, pl.List)]
    )
    with pl.Config(tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True, tbl_hide_dataframe_shape=True,
                   tbl_rows=rows, tbl_cols=-1, fmt_str_lengths=max_chars):
        return dg.MetadataValue.md(str(shown))


def table_metadata(table: Table, df: pl.DataFrame, *, version: int | None, uri: str, **extra) -> dict:
    md = {
        "dagster/row_count": df.height,
        "dagster/column_schema": column_schema(table),
        "dagster/uri": uri,
        "delta_version": version if version is not None else -1,
        "preview": preview(df),
    }
    md.update(extra)
    return md


def counts_table(counts: dict, *, key: str, value: str = "count") -> dg.MarkdownMetadataValue:
    lines = [f"| {key} | {value} |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]
    return dg.MetadataValue.md("\n".join(lines) if counts else f"(no {key})")


class ProgressLog:
    """Logs `done/total`, rate and time left at most every ``every`` seconds (shows in the run's log view)."""

    def __init__(self, log, what: str, *, every: float = 5.0):
        self.log, self.what, self.every = log, what, every
        self.t0 = self.last = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        progress.report(self.what, done, total)
        now = time.monotonic()
        if now - self.last < self.every and done != total:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        left = (total - done) / rate if rate > 0 else float("nan")
        self.log.info(f"{self.what}: {done}/{total} ({rate:.1f}/s, ~{left:.0f}s left)")

"""`newslake export --release NAME --to DIR`: a release as plain files with a datasheet and a manifest."""

from __future__ import annotations

import sys
from pathlib import Path


def cmd_export(args) -> int:
    from newslake.history import lake_of
    from pipeline import export, releases

    if args.verify:
        problems = export.verify(Path(args.verify))
        for p in problems:
            print(f"FAILED {p}")
        print("export verified: every file and table matches manifest.json" if not problems else "")
        return 1 if problems else 0
    if not args.release or not args.to:
        print("error: --release and --to are required (or --verify DIR)", file=sys.stderr)
        return 2
    tables = [t for group in args.tables or [] for t in group.split(",") if t]
    try:
        m = export.export(lake_of(args), args.release, Path(args.to), tables=tables or None, fmt=args.format)
    except (export.ExportError, releases.ReleaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for t in m["tables"].values():
        print(f"{t['file']}: {t['rows']} rows, {t['bytes']} bytes, sha256 {t['sha256']}")
    print(f"wrote {len(m['tables'])} tables, DATASHEET.md and manifest.json to {Path(args.to).resolve()}")
    return 0


def register(subparsers, common) -> None:
    e = subparsers.add_parser(
        "export",
        help="write a release as Parquet/CSV/JSON lines with a datasheet",
        description="Plain files anyone can read: each table at the release's version, "
        "sorted by pub_date and id, Parquet with zstd (or CSV with list columns as JSON, or "
        "JSON lines), plus DATASHEET.md and manifest.json (columns and meanings, rows per day, "
        "duplicates removed, rejects by reason, code and model versions, source files and "
        "their hashes, a sha256 per file).",
    )
    common(e, inbox=False)
    e.add_argument("--release", metavar="NAME", help="the release to export")
    e.add_argument("--to", metavar="DIR", help="a new or empty folder")
    e.add_argument("--tables", nargs="+", metavar="TABLE", help="only these tables (default: all)")
    e.add_argument("--format", choices=["parquet", "csv", "jsonl"], default="parquet")
    e.add_argument("--verify", metavar="DIR", help="check an export against its manifest instead")
    e.set_defaults(func=cmd_export)

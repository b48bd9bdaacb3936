"""`newslake doctor [--repair]`: check every table's log and data files; repair and schedule re-ingestion."""

from __future__ import annotations

import os
import sys


def cmd_doctor(args) -> int:
    from newslake.cli import DEFAULT_LAKE
    from pipeline import doctor
    from pipeline.storage import Lake

    lake = Lake(args.lake or os.environ.get("NEWSLAKE_LAKE") or DEFAULT_LAKE)
    damage = doctor.check(lake)
    if not damage:
        print(f"lake {lake.root}: every table's log and data files are healthy")
        return 0
    by_table: dict[str, list] = {}
    for d in damage:
        by_table.setdefault(d.table, []).append(d)
    for table, items in sorted(by_table.items()):
        days = sorted({d.day or "undated" for d in items if d.day is not None})
        print(f"{table}: {len(items)} problem(s)" + (f" on day(s) {', '.join(days[:20])}" if days else ""))
        for d in items[:50]:
            day = "" if d.day is None else f" [{d.day or 'undated'}]"
            print(f"  {d.kind}: {table}/{d.file}{day} {d.detail}")
    if not args.repair:
        print(
            "run `newslake doctor --repair` to drop missing and symlinked files from the logs and re-ingest "
            "what they held",
            file=sys.stderr,
        )
        return 1
    rep = doctor.repair(lake)
    for table, n in sorted(rep.removed.items()):
        print(f"repaired {table}: {n} file(s) dropped from the log")
    if rep.reingest_paths:
        print(
            f"{len(rep.reingest_paths)} inbox file(s) scheduled for re-ingestion by the next `newslake run`: "
            + ", ".join(rep.reingest_paths[:10])
            + (" ..." if len(rep.reingest_paths) > 10 else "")
        )
    if rep.reprocess_days:
        print("days to reprocess: newslake run " + " ".join(f"--date {d}" for d in rep.reprocess_days[:30]))
    for d in rep.unrepaired:
        hint = "check credentials and endpoint" if d.kind == "unlistable" else "restore it from a backup or a release"
        print(f"NOT repaired: {d.kind}: {d.table}/{d.file} {d.detail} ({hint})", file=sys.stderr)
    return 1 if rep.unrepaired else 0


def register(subparsers, common) -> None:
    d = subparsers.add_parser(
        "doctor",
        help="check every table's log and data files; --repair fixes them",
        description="Reports, per table and day, data files the log lists but the disk or object store "
        "lacks, symlinked data files and unreadable log lines. --repair drops the files "
        "from the logs and schedules the inbox files they came from for re-ingestion.",
    )
    common(d, inbox=False)
    d.add_argument("--repair", action="store_true", help="drop missing/symlinked files and schedule re-ingestion")
    d.set_defaults(func=cmd_doctor)

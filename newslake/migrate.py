"""`newslake migrate [--dry-run]`: bring a lake written by an older newslake to the current schema.

Columns that ``pipeline/schema.py`` declares but a stored table lacks are added as nullable columns (NULL in
the rows already there) through Delta schema evolution, one commit per table; data files are not rewritten.
Column meanings are stored as Delta column comments where a table predates them (metadata-only commits).
A changed type or an undeclared stored column is reported and left alone
(exit 1): that needs a rewrite a person decides on. Running it again finds nothing to do.

``newslake run`` never migrates by itself: it stops before any work with a message naming this command
(:func:`outdated_message`). Like Django's or Alembic's migrations, changing the schema of data other tools
and releases read is an explicit step the owner of the lake takes (and can preview with ``--dry-run``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TablePlan:
    table: str
    add: list[str]  # declared columns the stored table lacks
    problem: str | None  # why it cannot be migrated automatically (changed types, undeclared columns)
    comments: list[str] = field(default_factory=list)  # columns whose stored comment is not the schema module's


def plan(lake) -> list[TablePlan]:
    """What migrating ``lake`` would do, per stored table that differs from its declaration."""
    from pipeline import storage
    from pipeline.schema import TABLES

    out = []
    for table in TABLES.values():
        missing, changed, extra = storage.schema_diff(lake, table)
        problem = None
        if changed or extra:
            problem = (
                f"column types changed {changed}, undeclared stored columns {extra}: needs a rewrite, not a migration"
            )
        comments = storage.schema_annotations_diff(lake, table)[0]
        if missing or problem or comments:
            out.append(TablePlan(table.name, missing, problem, comments))
    return out


def outdated_message(lake) -> str | None:
    """For ``newslake run``: a message naming ``newslake migrate`` when the lake is not at the current schema."""
    todo = [p for p in plan(lake) if p.add or p.problem]  # stored comments are documentation: no reason to stop
    if not todo:
        return None
    lines = [f"the lake {lake.root} was written by an older newslake; its tables lack columns this version writes:"]
    for p in todo:
        lines.append(f"  {p.table}: " + (", ".join(p.add) if p.add else "") + (f" ({p.problem})" if p.problem else ""))
    lines.append(f"run `newslake migrate --lake {lake.root}` first (`--dry-run` shows what it does), then run again")
    return "\n".join(lines)


def cmd_migrate(args) -> int:
    from newslake.cli import _env
    from pipeline import storage
    from pipeline.errors import SchemaMismatch
    from pipeline.schema import TABLES

    _env(args)
    lake = storage.Lake(os.environ["NEWSLAKE_LAKE"])
    todo = plan(lake)
    if not todo:
        print(f"lake {lake.root}: every table is at the current schema; nothing to do")
        return 0
    status = 0
    verb = "would add" if args.dry_run else "added"
    for p in todo:
        if p.problem:
            print(f"{p.table}: NOT migrated: {p.problem}", file=sys.stderr)
            status = 1
            continue
        if p.comments:
            if not args.dry_run:
                storage.store_comments(lake, TABLES[p.table], run_id=None)
            verb_c = "would store" if args.dry_run else "stored"
            print(f"{p.table}: {verb_c} column comments ({len(p.comments)} columns)")
        if not p.add:
            continue
        if not args.dry_run:
            before = lake.version(p.table)
            try:
                storage.migrate(lake, TABLES[p.table], run_id=None)
            except SchemaMismatch as exc:  # changed since plan() looked (another writer)
                print(f"{p.table}: NOT migrated: {exc}", file=sys.stderr)
                status = 1
                continue
            after = lake.version(p.table)
            print(f"{p.table}: {verb} {', '.join(p.add)} (NULL in existing rows; version {before} -> {after})")
        else:
            print(f"{p.table}: {verb} {', '.join(p.add)} (NULL in existing rows)")
    if args.dry_run:
        print("dry run: nothing was changed")
    return status


def register(subparsers, common) -> None:
    g = subparsers.add_parser(
        "migrate",
        help="bring a lake written by an older newslake to the current schema",
        description="Adds columns that pipeline/schema.py declares but stored tables lack: nullable, NULL in "
        "existing rows, one commit per table, no data file rewritten; idempotent. A changed type or an "
        "undeclared column is reported and left alone (exit 1). `newslake run` refuses an outdated lake "
        "and names this command.",
    )
    common(g, inbox=False)
    g.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    g.set_defaults(func=cmd_migrate)

"""`newslake migrate [--dry-run]`: bring a lake written by an older newslake to the current schema.

Columns that ``pipeline/schema.py`` declares but a stored table lacks are added as nullable columns (NULL in
the rows already there) through Delta schema evolution, one commit per table; data files are not rewritten.
A column an older newslake stored in another type is converted when the schema module declares how
(``pipeline.schema.UPGRADES``, e.g. ``signatures.minhash``: int64 lists to packed bytes): the table's rows are
streamed into new files and one commit replaces the old ones (``pipeline.storage.rewrite``).
Column meanings are stored as Delta column comments where a table predates them (metadata-only commits).
Any other changed type, or an undeclared stored column, is reported and left alone
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
    convert: list[str] = field(default_factory=list)  # columns of an older type with a known conversion (rewrite)


def plan(lake) -> list[TablePlan]:
    """What migrating ``lake`` would do, per stored table that differs from its declaration."""
    from pipeline import storage
    from pipeline.schema import TABLES

    out = []
    for table in TABLES.values():
        missing, changed, extra = storage.schema_diff(lake, table)
        convert = storage.upgrades(lake, table)
        unknown = [c for c in changed if c not in convert]
        problem = None
        if unknown or extra:
            problem = (
                f"column types changed {unknown}, undeclared stored columns {extra}: needs a rewrite, not a migration"
            )
        comments = storage.schema_annotations_diff(lake, table)[0]
        if missing or problem or comments or convert:
            out.append(TablePlan(table.name, missing, problem, comments, convert))
    return out


def outdated_message(lake) -> str | None:
    """For ``newslake run``: a message naming ``newslake migrate`` when the lake is not at the current schema."""
    # stored comments are documentation: no reason to stop
    todo = [p for p in plan(lake) if p.add or p.problem or p.convert]
    if not todo:
        return None
    lines = [f"the lake {lake.root} was written by an older newslake; its tables differ from what this version writes:"]
    for p in todo:
        parts = [f"lacks {', '.join(p.add)}"] if p.add else []
        parts += [f"stores {', '.join(p.convert)} in an older type"] if p.convert else []
        parts += [p.problem] if p.problem else []
        lines.append(f"  {p.table}: " + "; ".join(parts))
    lines.append(f"run `newslake migrate --lake {lake.root}` first (`--dry-run` shows what it does), then run again")
    return "\n".join(lines)


def cmd_migrate(args) -> int:
    from newslake.cli import _env
    from pipeline import storage
    from pipeline.schema import TABLES, UPGRADES

    _env(args)
    lake = storage.Lake(os.environ["NEWSLAKE_LAKE"])
    todo = plan(lake)
    if not todo:
        print(f"lake {lake.root}: every table is at the current schema; nothing to do")
        return 0
    status = 0
    for p in todo:
        if p.problem:
            print(f"{p.table}: NOT migrated: {p.problem}", file=sys.stderr)
            status = 1
            continue
        table = TABLES[p.table]
        # columns first: a conversion rewrites the table and needs every declared column stored
        steps = []
        if p.add:
            what = f"{', '.join(p.add)} (NULL in existing rows)"
            steps.append(("add", "added", what, lambda t=table: storage.migrate(lake, t, run_id=None)))
        if p.convert:
            how = "; ".join(f"{c}: {UPGRADES[(p.table, c)].stored} -> {table.schema[c]}" for c in p.convert)
            what = f"{', '.join(p.convert)} ({how}; the table's data files rewritten in one commit)"
            steps.append(("convert", "converted", what, lambda t=table: storage.rewrite(lake, t, run_id=None)))
        ok = all(_change(lake, p.table, *step, dry_run=args.dry_run) for step in steps)
        if ok and p.comments:
            # (a conversion stores the declared comments with the rewritten schema: often nothing is left)
            stored = p.comments if args.dry_run else storage.store_comments(lake, table, run_id=None)
            if stored:
                verb = "would store" if args.dry_run else "stored"
                print(f"{p.table}: {verb} column comments ({len(stored)} columns)")
        status = status if ok else 1
    if args.dry_run:
        print("dry run: nothing was changed")
    return status


def _change(lake, name: str, verb: str, done: str, what: str, change, *, dry_run: bool) -> bool:
    """Say (dry run) or make one change to one table; False when another writer got in the way."""
    from pipeline import storage
    from pipeline.errors import SchemaMismatch

    if dry_run:
        print(f"{name}: would {verb} {what}")
        return True
    before = lake.version(name)
    try:
        change()
    except SchemaMismatch as exc:  # changed since plan() looked (another writer)
        print(f"{name}: NOT migrated: {exc}", file=sys.stderr)
        return False
    except Exception as exc:  # noqa: BLE001 - a concurrent writer's commit: nothing of ours landed
        if not storage._is_conflict(exc):
            raise
        print(f"{name}: NOT migrated: another writer committed meanwhile; run it again ({exc})", file=sys.stderr)
        return False
    print(f"{name}: {done} {what} (version {before} -> {lake.version(name)})")
    return True


def register(subparsers, common) -> None:
    g = subparsers.add_parser(
        "migrate",
        help="bring a lake written by an older newslake to the current schema",
        description="Adds columns that pipeline/schema.py declares but stored tables lack: nullable, NULL in "
        "existing rows, one commit per table, no data file rewritten. Converts columns an older version stored "
        "in another type where pipeline/schema.py declares how (one commit rewriting the table's files). "
        "Idempotent. Any other changed type or an undeclared column is reported and left alone (exit 1). "
        "`newslake run` refuses an outdated lake and names this command.",
    )
    common(g, inbox=False)
    g.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    g.set_defaults(func=cmd_migrate)

"""After an upgrade that changes stages' code versions, `newslake run` says which files and days the old code
wrote and `newslake run --stale` parses and recomputes exactly those; the result equals a clean run of the new
code. A file gone from the inbox cannot be parsed again: its documents stay, and the summary keeps saying so.

The "old release" is a private copy of the code with one stage's version set back, run as the real command on
a real Dagster home; the new release is another copy as it is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline import storage
from pipeline.schema import DOCUMENTS, DUPLICATES, ENTITIES, FILES, SENTENCES
from pipeline.storage import Lake
from pipeline.versions import DEDUP, INGEST
from tests.system.test_noop_run import DAYS, copy_code, fast, newslake, write_day

pytestmark = pytest.mark.slow
OLD = "dedup-old"
OLD_INGEST = "ingest-old"
GONE = "2026-11-23"


@pytest.fixture
def upgrade(tmp_path):
    import os

    new = copy_code(tmp_path / "new")
    old = copy_code(tmp_path / "old")
    versions = old / "pipeline" / "versions.py"
    text = versions.read_text()
    assert f'DEDUP = "{DEDUP}"' in text and f'INGEST = "{INGEST}"' in text
    text = text.replace(f'DEDUP = "{DEDUP}"', f'DEDUP = "{OLD}"')
    versions.write_text(text.replace(f'INGEST = "{INGEST}"', f'INGEST = "{OLD_INGEST}"'))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for day in (GONE, *DAYS):
        write_day(inbox, day)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSLAKE_", "DAGSTER_"))}
    env["NEWSLAKE_WORKERS"] = "0"

    def setup(name: str, code):
        return {
            "tmp": tmp_path,
            "inbox": inbox,
            "lake": tmp_path / name / "lake",
            "home": tmp_path / name / "home",
            "env": {**env, "PYTHONPATH": str(code)},
            "code": code,
        }

    return setup, old, new


def tables(s) -> dict[str, pl.DataFrame]:
    lake = Lake(str(s["lake"]))
    out = {}
    for table in (DOCUMENTS, DUPLICATES, SENTENCES, ENTITIES):
        df = storage.read(lake, table)
        df = df.drop("ingested_at", strict=False)  # when, not what
        out[table.name] = df.sort(df.columns)
    return out


def test_files_and_days_written_by_older_code_are_listed_and_recomputed_on_request(upgrade):
    setup, old, new = upgrade
    clean = setup("clean", new)  # the new release on the whole inbox, from scratch
    newslake(clean, "run")
    newslake(setup("upgraded", old), "run")
    (clean["inbox"] / f"{GONE}.jsonl").unlink()  # an inbox that is a drop folder: the file's documents stay
    s = setup("upgraded", new)  # same lake and home, new release

    first = newslake(s, "run")
    assert "0 day(s) processed" in first.stdout and "processing" not in first.stderr
    n = len(DAYS) + 1
    assert f"written by older code or other settings: 3 file(s), {n} day(s)" in first.stdout, first.stdout
    assert f"ingest: 3 file(s) parsed by {OLD_INGEST}, now {INGEST}; 1 no longer in the inbox" in first.stdout
    assert f"dedup: {n} day(s) written by {OLD}, now {DEDUP} ({GONE} .. {DAYS[-1]})" in first.stdout
    again = newslake(s, "run")  # the recorded no-op answer keeps saying it
    assert fast(again) and f"written by older code or other settings: 3 file(s), {n} day(s)" in again.stdout

    stale = newslake(s, "run", "--stale")
    assert "2 file(s) to parse again" in stale.stderr and f"{n} day(s) processed" in stale.stdout, stale.stderr
    # Only what cannot be redone is left: the gone file, parsed by the old code.
    assert "written by older code or other settings: 1 file(s), 0 day(s)" in stale.stdout, stale.stdout
    assert "newslake run --stale" not in stale.stdout  # nothing left that a run could redo
    assert "dedup:" not in stale.stdout.split("written by older code")[1]
    files = storage.read(Lake(str(s["lake"])), FILES).sort("path")
    assert files["reason"].null_count() == files.height and set(files["status"]) == {"ok"}
    after = newslake(s, "run")
    assert "0 day(s) processed" in after.stdout
    assert "written by older code or other settings: 1 file(s), 0 day(s)" in after.stdout
    history = newslake(s, "history", "duplicates", "--format", "json", "--limit", "1")
    assert f"code_version={DEDUP} " in json.loads(history.stdout.splitlines()[0])["provenance"]

    upgraded, fresh = tables(s), tables(clean)
    for name in fresh:
        assert_frame_equal(upgraded[name], fresh[name], check_row_order=False)


def test_stale_run_killed_midway_is_finished_by_a_plain_run(upgrade):
    """kill -9 right after `--stale` marked the files for a new parse (committed): the next plain run parses
    them and redoes their days; the lake then equals a clean run of the new release."""
    setup, old, new = upgrade
    clean = setup("clean", new)
    newslake(clean, "run")
    newslake(setup("upgraded", old), "run")
    s = setup("upgraded", new)
    cmd = [sys.executable, "-m", "newslake.cli", "run", "--stale", "--inbox", str(s["inbox"]), "--no-progress"]
    cmd += ["--lake", str(s["lake"]), "--home", str(s["home"])]
    proc = subprocess.Popen(
        cmd, cwd=s["code"], env=s["env"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("3 file(s) to parse again"):
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        proc.kill()
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    out = newslake(s, "run")
    assert "older code" not in out.stdout, out.stdout
    upgraded, fresh = tables(s), tables(clean)
    for name in fresh:
        assert_frame_equal(upgraded[name], fresh[name], check_row_order=False)

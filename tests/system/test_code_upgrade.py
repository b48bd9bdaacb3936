"""After an upgrade that changes a stage's code version, `newslake run` says which days the old code wrote and
`newslake run --stale` recomputes exactly those; the result equals a clean run of the new code.

The "old release" is a private copy of the code with one stage's version set back, run as the real command on
a real Dagster home; the new release is another copy as it is.
"""

from __future__ import annotations

import json

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipeline import storage
from pipeline.schema import DUPLICATES, ENTITIES, SENTENCES
from pipeline.storage import Lake
from pipeline.versions import DEDUP
from tests.system.test_noop_run import DAYS, copy_code, fast, newslake, write_day

pytestmark = pytest.mark.slow
OLD = "dedup-old"


@pytest.fixture
def upgrade(tmp_path):
    import os

    new = copy_code(tmp_path / "new")
    old = copy_code(tmp_path / "old")
    versions = old / "pipeline" / "versions.py"
    text = versions.read_text()
    assert f'DEDUP = "{DEDUP}"' in text
    versions.write_text(text.replace(f'DEDUP = "{DEDUP}"', f'DEDUP = "{OLD}"'))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for day in DAYS:
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
    for table in (DUPLICATES, SENTENCES, ENTITIES):
        df = storage.read(lake, table)
        out[table.name] = df.sort(df.columns)
    return out


def test_days_written_by_older_code_are_listed_and_recomputed_on_request(upgrade):
    setup, old, new = upgrade
    before = setup("upgraded", old)
    newslake(before, "run")
    s = setup("upgraded", new)  # same lake and home, new release

    first = newslake(s, "run")
    assert "0 day(s) processed" in first.stdout and "processing" not in first.stderr
    n = len(DAYS)
    assert f"written by older code: {n} day(s)" in first.stdout, first.stdout
    assert f"dedup: {n} day(s) written by {OLD}, now {DEDUP} ({DAYS[0]} .. {DAYS[-1]})" in first.stdout
    again = newslake(s, "run")  # the recorded no-op answer keeps saying it
    assert fast(again) and f"written by older code: {n} day(s)" in again.stdout

    stale = newslake(s, "run", "--stale")
    assert f"{n} day(s) processed" in stale.stdout, stale.stderr
    assert "older code" not in stale.stdout
    after = newslake(s, "run")
    assert "older code" not in after.stdout and "0 day(s) processed" in after.stdout
    history = newslake(s, "history", "duplicates", "--format", "json", "--limit", "1")
    assert f"code_version={DEDUP} " in json.loads(history.stdout.splitlines()[0])["provenance"]

    clean = setup("clean", new)
    newslake(clean, "run")
    upgraded, fresh = tables(s), tables(clean)
    for name in fresh:
        assert_frame_equal(upgraded[name], fresh[name], check_row_order=False)

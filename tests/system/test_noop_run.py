"""`newslake run` on an unchanged inbox answers from a recorded state without Dagster (issue 18), and every
change a full run would act on sends it back through Dagster: a new inbox file, other settings, other code,
a table changed by another command, a failed run, run history changed in the instance.

Every case runs the real command in a subprocess, from a private copy of the code (the fingerprint covers the
sources, and others may edit the working tree meanwhile). "Fast" is recognised by its message, never by its
time.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import doctor, storage
from pipeline.schema import DOCUMENTS
from pipeline.storage import Lake

PROJECT = Path(__file__).resolve().parents[2]
FAST = "unchanged since the last run: nothing to do"
DAYS = ("2026-11-24", "2026-11-25")

pytestmark = pytest.mark.slow


def write_day(inbox: Path, day: str, n: int = 3) -> None:
    rows = [
        {
            "id": f"{day}-{k}",
            "title": f"Story {k} of {day}",
            "date": f"{day}T10:00:00Z",
            "text": f"Paragraph {k} about the harbour in Port Ellery on {day}. The mayor of Port Ellery spoke.",
        }
        for k in range(n)
    ]
    (inbox / f"{day}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def copy_code(dst: Path) -> Path:
    for d in ("pipeline", "assets", "newslake"):
        shutil.copytree(PROJECT / d, dst / d, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> Path:
    return copy_code(tmp_path_factory.mktemp("code"))


@pytest.fixture
def setup(tmp_path, code):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for day in DAYS:
        write_day(inbox, day)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSLAKE_", "DAGSTER_"))}
    env["NEWSLAKE_WORKERS"] = "0"  # ingestion in-process, one tagger worker: the small inbox runs faster
    env["PYTHONPATH"] = str(code)
    return {
        "tmp": tmp_path,
        "inbox": inbox,
        "lake": tmp_path / "lake",
        "home": tmp_path / "home",
        "env": env,
        "code": code,
    }


def newslake(s, *args, env=None, project: Path | None = None, ok: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "newslake.cli", *args]
    if args and args[0] == "run":
        cmd += ["--inbox", str(s["inbox"]), "--no-progress"]
    cmd += ["--lake", str(s["lake"]), "--home", str(s["home"])]
    out = subprocess.run(
        cmd, cwd=project or s["code"], env=env or s["env"], capture_output=True, text=True, timeout=900
    )
    if ok:
        assert out.returncode == 0, out.stderr[-3000:]
    return out


def fast(out: subprocess.CompletedProcess) -> bool:
    return FAST in out.stderr


def body(out: subprocess.CompletedProcess) -> str:
    """The summary without its timing line."""
    return out.stdout.split("by this run\n", 1)[1]


def n_docs(s) -> int:
    return storage.read(Lake(str(s["lake"])), DOCUMENTS, columns=["doc_id"]).height


def test_unchanged_inbox_is_answered_without_dagster_and_prints_the_full_summary(setup):
    s = setup
    first = newslake(s, "run")
    assert not fast(first) and "processing" in first.stderr
    again = newslake(s, "run")
    assert fast(again), again.stderr
    assert body(again) == body(first)
    assert "0 day(s) processed" in again.stdout
    # Day options always take the full path (they may ask for work a plain run would not do).
    dated = newslake(s, "run", "--date", DAYS[0])
    assert not fast(dated) and f"processing {DAYS[0]}" in dated.stderr


def test_a_new_inbox_file_is_ingested_and_processed(setup):
    s = setup
    newslake(s, "run")
    assert fast(newslake(s, "run"))
    before = n_docs(s)
    write_day(s["inbox"], "2026-11-27", n=2)
    out = newslake(s, "run")
    assert not fast(out) and "ingesting" in out.stderr and "processing 2026-11-27" in out.stderr
    assert n_docs(s) == before + 2
    assert fast(newslake(s, "run"))


def test_a_touched_inbox_file_goes_through_dagster(setup):
    s = setup
    newslake(s, "run")
    assert fast(newslake(s, "run"))
    f = s["inbox"] / f"{DAYS[0]}.jsonl"
    os.utime(f, ns=(f.stat().st_atime_ns, f.stat().st_mtime_ns + 1_000_000_000))
    out = newslake(s, "run")
    assert not fast(out) and "ingesting" in out.stderr


def test_other_settings_go_through_dagster(setup):
    s = setup
    newslake(s, "run")
    assert fast(newslake(s, "run"))
    config = s["tmp"] / "settings.toml"
    config.write_text("[dedup]\nwindow_days = 10\n")
    out = newslake(s, "run", "--config", str(config))
    assert not fast(out) and "nothing to ingest" in out.stderr
    assert fast(newslake(s, "run", "--config", str(config)))
    config.write_text("[dedup]\nwindow_days = 11\n")  # same file, other content
    assert not fast(newslake(s, "run", "--config", str(config)))
    env = {**s["env"], "NEWSLAKE_WORKERS": "1"}  # any NEWSLAKE_ variable counts
    assert not fast(newslake(s, "run", "--config", str(config), env=env))


def test_other_code_goes_through_dagster(setup):
    """Another copy of the code: first as it is (another tree), then with a stage's code version bumped."""
    s = setup
    code = copy_code(s["tmp"] / "code")
    env = {**s["env"], "PYTHONPATH": str(code)}
    newslake(s, "run")
    out = newslake(s, "run", env=env, project=code)
    assert not fast(out), out.stderr
    assert fast(newslake(s, "run", env=env, project=code))
    versions = code / "pipeline" / "versions.py"
    text = versions.read_text()
    assert 'DEDUP = "' in text
    versions.write_text(text.replace('DEDUP = "', 'DEDUP = "bumped-'))
    assert not fast(newslake(s, "run", env=env, project=code))
    assert fast(newslake(s, "run", env=env, project=code))
    assert not fast(newslake(s, "run"))  # and back to the first copy


def test_a_table_repaired_by_doctor_is_ingested_again(setup):
    """Another command changes a table (and schedules a retry in ``files``): the run does the work."""
    s = setup
    newslake(s, "run")
    assert fast(newslake(s, "run"))
    lake = Lake(str(s["lake"]))
    n = n_docs(s)
    f = next(f for f in doctor.data_files(lake.open(DOCUMENTS)) if f"pub_date={DAYS[0]}" in f)
    (Path(lake.uri(DOCUMENTS)) / f).unlink()
    fix = newslake(s, "doctor", "--repair")
    assert f"{DAYS[0]}.jsonl" in fix.stdout
    out = newslake(s, "run")
    assert not fast(out) and "ingesting" in out.stderr and f"processing {DAYS[0]}" in out.stderr
    assert n_docs(s) == n
    assert fast(newslake(s, "run"))


def test_a_failed_run_is_finished_by_the_next(setup):
    """A run that failed half-way (tagging: no such model) leaves its day to do; the next run does it, even
    with the settings of the run that recorded the state."""
    s = setup
    newslake(s, "run")
    assert fast(newslake(s, "run"))
    write_day(s["inbox"], "2026-11-27", n=2)
    bad = s["tmp"] / "bad.toml"
    bad.write_text('[entities]\nmodel = "no_such_model_anywhere"\n')
    failed = newslake(s, "run", "--config", str(bad), ok=False)
    assert failed.returncode == 1 and not fast(failed)
    out = newslake(s, "run")
    assert not fast(out) and "processing 2026-11-27" in out.stderr
    assert fast(newslake(s, "run"))


def test_run_history_changed_in_the_instance_goes_through_dagster(setup):
    """Materializations wiped in the instance (as from the UI): every day is not done, and is processed."""
    import dagster as dg

    s = setup
    newslake(s, "run")
    assert fast(newslake(s, "run"))
    inst = dg.DagsterInstance.from_config(str(s["home"]))
    inst.wipe_assets([dg.AssetKey("entity_daily")])
    inst.dispose()
    out = newslake(s, "run")
    assert not fast(out) and f"processing {DAYS[0]}" in out.stderr
    assert fast(newslake(s, "run"))

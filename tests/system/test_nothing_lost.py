"""Nothing lost, ever (issue 15): what the lake holds for a path is a function of the bytes the path holds now.

Restoring, reverting, copying and retrying converge; every inbox entry is recorded; reject keys are unique;
truncation is reported. Library-level tests run ingestion in-process (``workers=0``); the ``slow`` ones drive
the real ``newslake run`` command.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import ingest
from pipeline.ingest import IngestConfig, parse_file, scan_inbox
from pipeline.schema import DOCUMENTS, FILES, REJECTS
from pipeline.storage import Lake, read

PROJECT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 1, 1, tzinfo=UTC)
CFG = IngestConfig(workers=0, now=NOW)
PARA = "The council met on Tuesday evening and debated the new budget for the harbour district at length."


def jsonl(*titles: str) -> bytes:
    """A JSONL file with one dated record per title (fast to parse: no HTML extraction)."""
    rows = [{"id": t, "title": t, "text": f"{t}. {PARA}", "date": "2024-03-05"} for t in titles]
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def run(inbox: Path, lake: Lake, **kw):
    return ingest.run(inbox, lake, config=CFG, **kw)


def titles_by_path(lake: Lake) -> dict[str, set[str]]:
    docs = read(lake, DOCUMENTS, columns=["source_path", "title"])
    out: dict[str, set[str]] = {}
    for p, t in docs.iter_rows():
        out.setdefault(p, set()).add(t)
    return out


def current_files(lake: Lake) -> pl.DataFrame:
    return read(lake, FILES)


def assert_converged(inbox: Path, lake: Lake, content: dict[str, tuple[str, ...]], last_seen: dict):
    """The lake holds, for every path in the inbox, exactly the documents of its current bytes.

    A duplicate_file path holds them through the path it duplicates. Documents of a path deleted from the
    inbox stay (its last bytes): nothing is lost by deleting a file from a drop folder.
    """
    files = current_files(lake)
    assert files["path"].n_unique() == files.height, "one manifest row per path"
    row = {r["path"]: r for r in files.iter_rows(named=True)}
    docs = read(lake, DOCUMENTS, columns=["source_path", "source_sha256", "title", "doc_id"])
    assert docs["doc_id"].n_unique() == docs.height
    by_path = titles_by_path(lake)
    for path, titles in content.items():
        r = row[path]
        owner = r["duplicate_of"] if r["status"] == "duplicate_file" else path
        assert by_path.get(owner, set()) == set(titles), (path, owner, by_path.get(owner))
        assert row[owner]["sha256"] == r["sha256"]
        if r["status"] == "duplicate_file":
            assert path not in by_path, f"{path} is a copy and must not hold documents of other bytes"
    for path, titles in last_seen.items():  # deleted paths keep their last content
        if path not in content:
            r = row[path]
            if r["status"] != "duplicate_file":
                assert by_path.get(path, set()) == set(titles), path
            elif row[r["duplicate_of"]]["sha256"] == r["sha256"]:  # a deleted copy lives on in its original
                assert by_path.get(r["duplicate_of"], set()) == set(titles), path
    # no stale documents: every document's bytes are what the manifest says its path holds
    stale = docs.join(files.select("path", "sha256"), left_on="source_path", right_on="path", how="left").filter(
        pl.col("sha256") != pl.col("source_sha256")
    )
    assert stale.height == 0, stale
    assert ingest.unreconciled(files, read(lake, DOCUMENTS), read(lake, REJECTS)).height == 0


# --- the four sequences from the issue ------------------------------------------------------------------


def test_vanished_between_scan_and_parse_then_restored_is_ingested(tmp_path, monkeypatch):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(jsonl("alpha"))
    real_scan = ingest.runner.scan_inbox

    def scan_then_delete(*a, **kw):
        entries = real_scan(*a, **kw)
        (inbox / "a.jsonl").unlink()
        return entries

    monkeypatch.setattr(ingest.runner, "scan_inbox", scan_then_delete)
    run(inbox, lake)
    row = current_files(lake).row(0, named=True)
    assert (row["status"], row["reason"]) == ("rejected", "vanished")
    monkeypatch.undo()
    (inbox / "a.jsonl").write_bytes(jsonl("alpha"))  # restored, same bytes
    run(inbox, lake)
    assert titles_by_path(lake) == {"a.jsonl": {"alpha"}}
    assert current_files(lake).row(0, named=True)["retries"] == 1


def test_timeout_is_retried_and_a_renamed_copy_is_not_a_duplicate_of_it(tmp_path, monkeypatch):
    from pipeline.ingest.parse import rejected_file

    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(jsonl("alpha"))
    real = ingest.runner.parse_files

    def all_time_out(entries, **kw):
        for e in entries:
            yield rejected_file(e, "timeout", "simulated", ingested_at=kw["ingested_at"])

    monkeypatch.setattr(ingest.runner, "parse_files", all_time_out)
    run(inbox, lake)
    assert current_files(lake)["reason"].to_list() == ["timeout"]
    monkeypatch.setattr(ingest.runner, "parse_files", real)
    (inbox / "a.jsonl").rename(inbox / "b.jsonl")  # renamed copy of the timed-out file
    shutil.copy(inbox / "b.jsonl", inbox / "a.jsonl")  # and the original is back
    run(inbox, lake)
    assert titles_by_path(lake) == {"a.jsonl": {"alpha"}}
    files = {r["path"]: r for r in current_files(lake).iter_rows(named=True)}
    assert files["a.jsonl"]["status"] == "ok" and files["a.jsonl"]["retries"] == 1
    assert files["b.jsonl"]["status"] == "duplicate_file" and files["b.jsonl"]["duplicate_of"] == "a.jsonl"
    assert_converged(inbox, lake, {"a.jsonl": ("alpha",), "b.jsonl": ("alpha",)}, {})


def test_revert_v1_v2_v1_leaves_v1(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    for v in (("one", "two"), ("three",), ("one", "two")):
        (inbox / "a.jsonl").write_bytes(jsonl(*v))
        run(inbox, lake)
        assert titles_by_path(lake) == {"a.jsonl": set(v)}
    assert_converged(inbox, lake, {"a.jsonl": ("one", "two")}, {})


def test_copy_keeps_its_documents_when_the_original_changes(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(jsonl("v1"))
    (inbox / "b.jsonl").write_bytes(jsonl("v1"))
    run(inbox, lake)
    (inbox / "a.jsonl").write_bytes(jsonl("v2"))
    run(inbox, lake)
    assert titles_by_path(lake) == {"a.jsonl": {"v2"}, "b.jsonl": {"v1"}}
    assert_converged(inbox, lake, {"a.jsonl": ("v2",), "b.jsonl": ("v1",)}, {})


def test_path_that_becomes_a_copy_drops_its_old_documents_and_rejects(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(jsonl("alpha"))
    (inbox / "b.jsonl").write_bytes(jsonl("beta") + b"{broken\n")
    run(inbox, lake)
    shutil.copy(inbox / "a.jsonl", inbox / "b.jsonl")
    run(inbox, lake)
    assert titles_by_path(lake) == {"a.jsonl": {"alpha"}}
    assert read(lake, REJECTS).filter(pl.col("source_path") == "b.jsonl").height == 0
    assert_converged(inbox, lake, {"a.jsonl": ("alpha",), "b.jsonl": ("alpha",)}, {})


# --- a random sequence against a model ------------------------------------------------------------------

_PATHS = ("a.jsonl", "b.jsonl", "sub/c.jsonl")
_VERSIONS = (("v1",), ("v2", "v3"), ("v4",))
_step = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(_PATHS), st.sampled_from(range(len(_VERSIONS)))),
    st.tuples(st.just("copy"), st.sampled_from(_PATHS), st.sampled_from(_PATHS)),
    st.tuples(st.just("delete"), st.sampled_from(_PATHS), st.just(0)),
    st.tuples(st.just("run"), st.just(""), st.just(0)),
)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, min_size=2, max_size=10))
def test_random_create_change_copy_delete_restore_converges(tmp_path_factory, steps):
    root = tmp_path_factory.mktemp("seq")
    inbox, lake = root / "inbox", Lake(str(root / "lake"))
    (inbox / "sub").mkdir(parents=True)
    content: dict[str, tuple[str, ...]] = {}  # model: path -> titles of its current bytes
    last_seen: dict[str, tuple[str, ...]] = {}  # what each path held at the last run that saw it
    for op, path, arg in [*steps, ("run", "", 0)]:
        if op == "write":
            (inbox / path).write_bytes(jsonl(*_VERSIONS[arg]))
            content[path] = _VERSIONS[arg]
        elif op == "copy" and arg in content and arg != path:
            shutil.copy(inbox / arg, inbox / path)
            content[path] = content[arg]
        elif op == "delete" and path in content:
            (inbox / path).unlink()
            del content[path]
        elif op == "run":
            run(inbox, lake)
            last_seen.update(content)
            assert_converged(inbox, lake, content, last_seen)


# --- every inbox entry recorded -------------------------------------------------------------------------


def test_bad_file_name_is_one_reject_with_an_escaped_path_and_others_still_ingest(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "good.jsonl").write_bytes(jsonl("good"))
    bad = os.path.join(os.fsencode(inbox), b"bad-\xff\xfe.jsonl")
    with open(bad, "wb") as fh:
        fh.write(jsonl("bad"))
    report = run(inbox, lake)
    assert titles_by_path(lake) == {"good.jsonl": {"good"}}
    rej = read(lake, REJECTS).filter(pl.col("reason") == "bad_file_name")
    assert rej.height == 1
    path = rej["source_path"][0]
    path.encode("utf-8")  # storable
    assert "\\xff" in path and "\\xfe" in path, path
    assert report.rejects_by_reason["bad_file_name"] == 1
    run(inbox, lake)  # and again: no failure, nothing new
    assert read(lake, REJECTS).filter(pl.col("reason") == "bad_file_name").height == 1


def test_dot_files_and_fifos_each_get_a_row(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    (inbox / ".git").mkdir(parents=True)
    (inbox / ".hidden.html").write_text("<html><body><p>hidden</p></body></html>")
    (inbox / ".git" / "config").write_text("[core]\n")
    os.mkfifo(inbox / "pipe.jsonl")
    run(inbox, lake)
    files = {r["path"]: r for r in current_files(lake).iter_rows(named=True)}
    assert files[".hidden.html"]["reason"] == "hidden_file"
    assert files[".git"]["reason"] == "hidden_file"  # a hidden directory: one row, not walked
    assert files["pipe.jsonl"]["reason"] == "special_file"
    assert len(files) == 3


def test_unreadable_directory_gets_a_row_and_is_read_once_fixed(tmp_path, monkeypatch):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    (inbox / "locked").mkdir(parents=True)
    (inbox / "locked" / "x.jsonl").write_bytes(jsonl("x"))
    # root reads any directory: simulate the permission error where the walk lists the directory
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    run(inbox, lake)
    monkeypatch.undo()
    files = {r["path"]: r for r in current_files(lake).iter_rows(named=True)}
    assert files["locked"]["reason"] == "unreadable"
    run(inbox, lake)  # permissions fixed: the directory's files are ingested now
    assert titles_by_path(lake) == {"locked/x.jsonl": {"x"}}


def test_lake_and_dagster_home_inside_the_inbox_are_refused(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(jsonl("alpha"))
    lake = Lake(str(inbox / "lake"))
    (inbox / "home").mkdir()
    (inbox / "home" / "runs.db").write_bytes(b"SQLite format 3\x00")
    monkeypatch.setenv("DAGSTER_HOME", str(inbox / "home"))
    for _ in range(2):
        run(inbox, lake)
    files = {r["path"]: r for r in current_files(lake).iter_rows(named=True)}
    assert files["lake"]["reason"] == "lake_in_inbox"
    assert files["home"]["reason"] == "lake_in_inbox"
    assert not any(p.startswith(("lake/", "home/")) for p in files), "the lake must not ingest itself"
    detail = read(lake, REJECTS).filter(pl.col("source_path") == "lake")["detail"][0]
    assert "lake" in detail and "inbox" in detail


# --- unique reject keys ---------------------------------------------------------------------------------


def test_jsonl_reject_keys_cannot_collide(tmp_path):
    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    # line 2 is malformed (key "2"); records with id "2" pass the JSON checks but clean to nothing
    lines = [
        json.dumps({"id": "x", "title": "ok", "text": PARA}),
        "{not json",
        json.dumps({"id": "2", "title": "\x00"}),
        json.dumps({"id": "2@3", "title": "\u200b"}),
        json.dumps({"id": "2", "title": "\x07"}),
    ]
    (inbox / "a.jsonl").write_text("\n".join(lines) + "\n")
    run(inbox, lake)
    rej = read(lake, REJECTS)
    assert sorted(rej["reason"].to_list()) == ["empty_record"] * 3 + ["malformed_json"]
    assert rej["record_key"].n_unique() == 4
    files = current_files(lake)
    assert files["records"].to_list() == [5]
    assert ingest.unreconciled(files, read(lake, DOCUMENTS), rej).height == 0


# --- truncation and decoding reported -------------------------------------------------------------------


def warc_record(uri: str, html: str, rid: str) -> bytes:
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}".encode()
    head = (
        f"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:{rid}>\r\nWARC-Target-URI: {uri}\r\n"
        f"WARC-Date: 2024-03-05T10:00:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http)}\r\n\r\n"
    ).encode()
    return head + http + b"\r\n\r\n"


def _article(title: str) -> str:
    body = "".join(f"<p>{i}. {PARA} {PARA}</p>" for i in range(3))
    return (
        f"<html><head><title>{title}</title><meta property='article:published_time' content='2024-03-05'>"
        f"</head><body><article><h1>{title}</h1>{body}</article></body></html>"
    )


@pytest.mark.parametrize("cut", ["payload", "header"])
def test_truncated_warc_keeps_records_before_the_cut_and_rejects_the_cut_one(tmp_path, cut):
    recs = [warc_record(f"https://ex.org/{i}", _article(f"Story {i}"), f"0000000{i}") for i in range(3)]
    data = recs[0] + recs[1]
    data += recs[2][: len(recs[2]) // 2] if cut == "payload" else recs[2][:60]
    pf = _parse(tmp_path, "crawl.warc", data)
    assert pf.documents["title"].to_list() == ["Story 0", "Story 1"]
    assert pf.status == "partial"
    assert pf.rejects["reason"].to_list() == ["truncated_record"]
    assert pf.records == 3


def test_truncated_text_gz_keeps_complete_articles_before_the_cut(tmp_path):
    arts = [f"Headline number {i}\n\n{PARA} {i}\n\n{PARA}" for i in range(6)]
    raw = gzip.compress("\n\n\n".join(arts).encode())
    pf = _parse(tmp_path, "dump.txt.gz", raw[: int(len(raw) * 0.85)])
    assert pf.status == "partial", (pf.status, pf.reason)
    assert pf.documents.height >= 3
    assert all(t.startswith("Headline number") for t in pf.documents["title"].to_list())
    assert "truncated_gzip" in pf.rejects["reason"].to_list()


def test_misdeclared_charset_is_decoded_as_what_the_bytes_are_and_flagged(tmp_path):
    html = _article("Café naïve über straße").replace("<head>", '<head><meta charset="windows-1251">')
    pf = _parse(tmp_path, "a.html", html.encode("utf-8"))
    assert "Café naïve über straße" in pf.documents["title"][0]
    assert pf.decode_flags == ("charset_mismatch",)
    clean = _parse(tmp_path, "b.html", _article("Café").encode("utf-8"))
    assert clean.decode_flags == ()
    lake = Lake(str(tmp_path / "lake"))
    ingest.run(tmp_path, lake, config=CFG)  # and the decision is recorded in files
    flags = dict(read(lake, FILES).select("path", "decode_flags").iter_rows())
    assert flags["a.html"] == ["charset_mismatch"] and flags["b.html"] == []


def test_text_dump_mixing_utf8_and_cp1252_is_decoded_per_article(tmp_path):
    a = f"Café au lait in Zürich\n\n{PARA} naïve.".encode()
    b = f"Smörgåsbord in Malmö\n\n{PARA} déjà.".encode("cp1252")
    pf = _parse(tmp_path, "dump.txt", a + b"\n\n\n" + b)
    titles = pf.documents["title"].to_list()
    assert titles == ["Café au lait in Zürich", "Smörgåsbord in Malmö"]
    assert "mixed_encodings" in pf.decode_flags


def _parse(tmp_path, name, data):
    (tmp_path / name).write_bytes(data)
    entry = next(e for e in scan_inbox(tmp_path) if e.rel_path == name)
    pf = parse_file(entry, config=CFG, ingested_at=NOW)
    rk = pf.rejects.filter(pl.col("record_key").is_not_null()).height
    assert pf.records == pf.documents.height + rk
    return pf


# --- the real command -----------------------------------------------------------------------------------


def newslake_run(tmp_path: Path, inbox: Path, lake: Path) -> subprocess.CompletedProcess:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "NEWSLAKE_INGEST_CONFIG")}
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "newslake.cli",
            "run",
            "--inbox",
            str(inbox),
            "--lake",
            str(lake),
            "--home",
            str(home),
            "--no-progress",
        ],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert p.returncode == 0, p.stderr[-3000:]
    return p


@pytest.mark.slow
def test_newslake_run_revert_and_copy_sequences(tmp_path):
    inbox, lake_dir = tmp_path / "inbox", tmp_path / "lake"
    inbox.mkdir()
    lake = Lake(str(lake_dir))
    (inbox / "a.jsonl").write_bytes(jsonl("one"))
    (inbox / "b.jsonl").write_bytes(jsonl("one"))
    newslake_run(tmp_path, inbox, lake_dir)
    (inbox / "a.jsonl").write_bytes(jsonl("two"))
    newslake_run(tmp_path, inbox, lake_dir)
    assert titles_by_path(lake) == {"a.jsonl": {"two"}, "b.jsonl": {"one"}}
    (inbox / "a.jsonl").write_bytes(jsonl("one"))  # v1 -> v2 -> v1
    newslake_run(tmp_path, inbox, lake_dir)
    assert_converged(inbox, lake, {"a.jsonl": ("one",), "b.jsonl": ("one",)}, {})
    assert sorted(t for ts in titles_by_path(lake).values() for t in ts) == ["one"]


def test_a_legacy_manifest_with_rows_per_path_and_sha_is_collapsed_to_one_row_per_path(tmp_path):
    from deltalake import write_deltalake

    from pipeline.storage import migrate

    inbox, lake = tmp_path / "inbox", Lake(str(tmp_path / "lake"))
    inbox.mkdir()
    (inbox / "a.jsonl").write_bytes(jsonl("v2"))
    old = FILES.empty().drop("retries", "decode_flags")  # the manifest as stored before issue 15
    row = {**dict.fromkeys(old.columns), "path": "a.jsonl", "status": "ok", "records": 1, "documents": 1}
    rows = [{**row, "sha256": "v1", "ingested_at": NOW}, {**row, "sha256": "v0", "ingested_at": NOW.replace(year=2024)}]
    write_deltalake(lake.uri(FILES), pl.DataFrame(rows, schema=old.schema).to_arrow(), mode="append")
    assert migrate(lake, FILES) == ["retries", "decode_flags"]
    run(inbox, lake)
    files = current_files(lake)
    assert files.height == 1 and files["status"].to_list() == ["ok"]
    assert titles_by_path(lake) == {"a.jsonl": {"v2"}}

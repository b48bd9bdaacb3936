"""Parsing of each input format into DOCUMENTS rows (fixtures are written here, not copied)."""

import gzip
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from pipeline.ingest import IngestConfig, parse_file, scan_inbox
from pipeline.schema import DOCUMENTS, REJECTS

AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
CFG = IngestConfig(now=datetime(2025, 1, 1, tzinfo=UTC))
PARA = "The council met on Tuesday evening and debated the new budget for the harbour district at length."


def page(title="Harbour budget approved", meta_date="2024-03-05T23:30:00-05:00", paras=3, caption=True):
    body = "".join(f"<p>{i}. {PARA} {PARA}</p>" for i in range(paras))
    fig = "<figure><img src='a.jpg'><figcaption>Harbour at dawn, 1 January 2019</figcaption></figure>"
    meta = f'<meta property="article:published_time" content="{meta_date}">' if meta_date else ""
    return (
        f"<html><head><title>{title} | Daily</title>{meta}<meta name='author' content='Ann Lee'>"
        f"<meta property='og:site_name' content='Daily Example'></head><body><nav><a href='/'>Home</a>"
        f"<a href='/x'>World</a></nav><article><h1>{title}</h1>{body[: len(body) // 2]}"
        f"{fig if caption else ''}{body[len(body) // 2 :]}</article><footer>Contact us</footer></body></html>"
    )


def parse(tmp_path: Path, name: str, data: bytes | str, config=CFG):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    entry = next(e for e in scan_inbox(tmp_path) if e.rel_path == name)
    pf = parse_file(entry, config=config, ingested_at=AT)
    assert pf.documents.schema == DOCUMENTS.schema and pf.rejects.schema == REJECTS.schema
    return pf


def check_layout(row):
    text, s, e = row["text"], row["body_start"], row["body_end"]
    if row["title"]:
        assert text[:s] == row["title"] + "\n\n"
    else:
        assert s == 0
    for p in text[s:e].split("\n\n"):
        assert p.strip()
    if row["captions"]:
        assert text[e:] == "\n\n" + "\n\n".join(row["captions"])
    assert row["words"] == len(text.split())


def test_html_page(tmp_path):
    pf = parse(tmp_path, "news/a.html", page())
    assert (pf.status, pf.format, pf.records) == ("ok", "html", 1)
    row = pf.documents.row(0, named=True)
    check_layout(row)
    assert row["title"] == "Harbour budget approved"
    assert row["captions"] == ["Harbour at dawn, 1 January 2019"]
    body = row["text"][row["body_start"] : row["body_end"]]
    assert "Harbour at dawn" not in body and "Contact us" not in body and "Home" not in body
    assert body.count("\n\n") == 2
    assert row["pub_date"] == date(2024, 3, 6) and row["date_source"] == "metadata"  # 23:30-05:00 is the 6th
    assert row["authors"] == ["Ann Lee"] and row["site"] == "Daily Example"
    assert row["language"] == "en" and row["ingested_at"] == AT and row["crawled_at"] is None
    assert row["record_key"] == "0" and len(row["doc_id"]) == 16


def test_html_caption_date_is_not_publication_date(tmp_path):
    pf = parse(tmp_path, "b.html", page(meta_date=None))
    row = pf.documents.row(0, named=True)
    assert row["pub_date"] is None and row["date_source"] == "none"


def test_doc_id_stable_when_file_changes(tmp_path):
    a = parse(tmp_path, "x.html", page(paras=3)).documents["doc_id"][0]
    b = parse(tmp_path, "x.html", page(paras=4)).documents["doc_id"][0]
    c = parse(tmp_path, "y.html", page(paras=3)).documents["doc_id"][0]
    assert a == b and a != c


DUMP = """Ferry line to reopen in spring
TT
The old ferry at the pier. Photo: Kim Berg
Ferry line to reopen in spring
The old ferry at the pier. Photo: Kim Berg
Published 4.3.2024 09:15

The ferry line closed two years ago will reopen in April, the operator said.

Tickets go on sale next month.
20

The operator expects 40,000 passengers in the first season.



Library extends opening hours
Readers in the reading room.
Readers in the reading room.

The city library will stay open until nine on weekdays.

The change follows a survey of visitors.
TT

The change follows a survey of visitors.
"""


def test_text_dump(tmp_path):
    pf = parse(tmp_path, "dumps/city-2024-03-04.txt", DUMP)
    assert (pf.status, pf.format, pf.records) == ("ok", "text", 2)
    a, b = pf.documents.sort("record_key").iter_rows(named=True)
    for r in (a, b):
        check_layout(r)
        assert "TT" not in r["text"].split("\n") and "20" not in r["text"].split("\n")
    assert a["title"] == "Ferry line to reopen in spring"
    assert a["captions"] == ["The old ferry at the pier. Photo: Kim Berg"]
    assert a["text"][a["body_start"] : a["body_end"]].split("\n\n") == [
        "The ferry line closed two years ago will reopen in April, the operator said.",
        "Tickets go on sale next month.",
        "The operator expects 40,000 passengers in the first season.",
    ]
    assert a["text"].count("Ferry line to reopen") == 1
    assert a["pub_date"] == date(2024, 3, 4) and a["date_source"] == "text"
    assert b["captions"] == ["Readers in the reading room."]
    assert b["text"][b["body_start"] : b["body_end"]].split("\n\n") == [
        "The city library will stay open until nine on weekdays.",
        "The change follows a survey of visitors.",
    ]
    assert b["pub_date"] == date(2024, 3, 4) and b["date_source"] == "file_name"


REUTERS_LIKE = [
    {
        "newid": 7,
        "date": "26-FEB-1987 15:01:01.79",
        "title": "COCOA REVIEW",
        "body": "Showers continued throughout\nthe week in the zone.\n    The dry period means\nlate arrivals.\n"
        " Reuter\n\x03",
    },
    {"newid": 8, "date": "26-FEB-1987 15:02:20.00", "title": "BRIEF ONLY", "body": None},
    {
        "newid": 9,
        "date": "31-FEB-1987 25:00:00.00",
        "title": "BAD DATE",
        "body": None,
        "unproc_text": "Unprocessed story text.",
    },
]


def test_jsonl_with_mapping_from_toml(tmp_path):
    toml = tmp_path / "ingest.toml"
    toml.write_text(
        '[jsonl]\nid = "newid"\ntext = "body|unproc_text"\ndate_format = "%d-%b-%Y %H:%M:%S%.f"\n'
        "paragraph_pattern = '\\n {3,}'\nunwrap_lines = true\n"
    )
    cfg = IngestConfig.from_toml(toml)
    assert cfg.jsonl.id == "newid" and cfg.jsonl.unwrap_lines
    lines = "\n".join(json.dumps(r) for r in REUTERS_LIKE) + "\n\n"
    pf = parse(tmp_path / "in", "reuters.jsonl", lines, config=cfg)
    assert (pf.status, pf.records) == ("ok", 3)
    rows = {r["record_key"]: r for r in pf.documents.iter_rows(named=True)}
    r7 = rows["7"]
    check_layout(r7)
    assert r7["text"][r7["body_start"] : r7["body_end"]].split("\n\n") == [
        "Showers continued throughout the week in the zone.",
        "The dry period means late arrivals. Reuter",
    ]
    assert r7["pub_datetime"] == datetime(1987, 2, 26, 15, 1, 1, 790000, tzinfo=UTC)
    assert r7["date_source"] == "record_field"
    assert rows["8"]["text"] == "BRIEF ONLY"
    assert rows["9"]["pub_date"] is None and "impossible" in rows["9"]["date_flags"]
    assert rows["9"]["text"].endswith("Unprocessed story text.")


def test_jsonl_autodetect_and_bad_lines(tmp_path):
    data = (
        json.dumps(
            {
                "id": "a",
                "headline": "H",
                "content": "Body text here.",
                "published": "2024-01-02",
                "link": "https://x.org/2024/01/02/h",
                "author": ["A B", "C D"],
            }
        )
        + "\n"
        + "{not json\n"
        + "[1, 2]\n"
        + json.dumps({"id": "b"})
        + "\n"
        + json.dumps({"id": "a", "title": "Same id again", "text": "Other."})
        + "\n"
    )
    pf = parse(tmp_path, "x.ndjson", data)
    assert pf.status == "partial" and pf.records == 5
    assert pf.documents.height + pf.rejects.height == pf.records
    assert sorted(pf.rejects["reason"]) == ["empty_record", "malformed_json", "not_an_object"]
    assert pf.documents["doc_id"].n_unique() == 2
    first = pf.documents.filter(pf.documents["record_key"] == "a").row(0, named=True)
    assert first["authors"] == ["A B", "C D"] and first["url"] == "https://x.org/2024/01/02/h"
    assert first["pub_date"] == date(2024, 1, 2)


def make_warc(records, *, gz: bool) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=gz)
    w.write_record(w.create_warcinfo_record("crawl.warc", {"software": "test"}))
    for url, ctype, status, body in records:
        http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
        rec = w.create_warc_record(
            url,
            "response",
            payload=io.BytesIO(body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": "2024-03-07T08:09:10Z"},
        )
        w.write_record(rec)
    return buf.getvalue()


@pytest.mark.parametrize("gz", [False, True])
def test_warc(tmp_path, gz):
    data = make_warc(
        [
            ("https://ex.com/2024/03/05/harbour", "text/html; charset=utf-8", "200 OK", page().encode()),
            ("https://ex.com/logo.png", "image/png", "200 OK", b"\x89PNG...."),
            ("https://ex.com/gone", "text/html", "404 Not Found", b"<html>nope</html>"),
        ],
        gz=gz,
    )
    pf = parse(tmp_path, "crawl.warc.gz" if gz else "crawl.warc", data)
    assert pf.format == "warc" and pf.status == "partial" and pf.records == 3
    assert sorted(pf.rejects["reason"]) == ["warc_http_status", "warc_not_html"]
    row = pf.documents.row(0, named=True)
    assert row["url"] == "https://ex.com/2024/03/05/harbour"
    assert row["crawled_at"] == datetime(2024, 3, 7, 8, 9, 10, tzinfo=UTC)
    assert row["format"] == "warc" and row["record_key"].startswith("urn:uuid:")


def test_gzip_of_each_format(tmp_path):
    assert parse(tmp_path, "a.html.gz", gzip.compress(page().encode())).status == "ok"
    pf = parse(tmp_path, "b.txt.gz", gzip.compress(DUMP.encode()))
    assert (pf.status, pf.compression, pf.records) == ("ok", "gzip", 2)
    pf = parse(tmp_path, "c.jsonl.gz", gzip.compress(b'{"title": "T", "text": "x y"}\n'))
    assert (pf.status, pf.format) == ("ok", "jsonl")


LANG_SAMPLES = {
    "en": "The harbour council approved the budget after a long debate on Tuesday evening.",
    "de": "Der Stadtrat hat den Haushalt nach einer langen Debatte am Dienstagabend beschlossen.",
    "fr": "Le conseil municipal a adopté le budget après un long débat mardi soir.",
}


def _fresh_identifier(monkeypatch, cache):
    from pipeline.ingest import language

    monkeypatch.setenv("NEWSLAKE_CACHE_DIR", str(cache))
    monkeypatch.setattr(language, "_IDENTIFIER", None)
    return language


def test_language_model_cache_matches_packaged_model(tmp_path, monkeypatch):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    language = _fresh_identifier(monkeypatch, tmp_path / "cache")
    packaged = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    first = language.identifier()  # writes the cache
    assert len(list((tmp_path / "cache").glob("py3langid-*.npz"))) == 1
    monkeypatch.setattr(language, "_IDENTIFIER", None)
    second = language.identifier()  # reads it
    for lang, text in LANG_SAMPLES.items():
        assert first.classify(text) == second.classify(text) == packaged.classify(text)
        assert language.detect_language(text) == lang


def test_language_model_without_writable_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    language = _fresh_identifier(monkeypatch, blocker / "cache")
    assert language.detect_language(LANG_SAMPLES["de"]) == "de"  # py3langid's own loader


def test_worker_pool_serves_several_batches(tmp_path):
    from pipeline.ingest import WorkerPool, parse_files

    for i in range(3):
        (tmp_path / f"p{i}.html").write_text(page(title=f"Harbour budget {i} approved"))
    entries = scan_inbox(tmp_path)
    cfg = IngestConfig(workers=2, now=CFG.now)
    with WorkerPool(2, config=cfg, ingested_at=AT) as pool:
        first = list(parse_files(entries[:2], config=cfg, ingested_at=AT, pool=pool))
        procs = [s.proc.pid for s in pool.slots]
        second = list(parse_files(entries[2:], config=cfg, ingested_at=AT, pool=pool))
        assert [s.proc.pid for s in pool.slots] == procs  # the same workers, started once
    assert [pf.documents.height for pf in first + second] == [1, 1, 1]
    assert all(s.proc.poll() is not None for s in pool.slots)  # stopped on exit

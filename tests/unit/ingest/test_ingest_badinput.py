"""Bad input never fails a run: each case becomes a document or a reject with a specific reason."""

import gzip
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_ingest_formats import AT, CFG, page, parse

from pipeline.ingest import IngestConfig, parse_file, parse_files, scan_inbox
from pipeline.ingest.decode import decode_bytes

WORD = "naïve café déjà vu"


def html_bytes(text: str, encoding: str, declare: str | None = None) -> bytes:
    head = f'<meta charset="{declare}">' if declare else ""
    p = " ".join([f"The {text} story goes on with many more words about the topic at hand."] * 5)
    doc = (
        f"<html><head>{head}<title>T</title></head><body><article><h1>T</h1><p>{p}</p><p>{p}</p>"
        "</article></body></html>"
    )
    return doc.encode(encoding)


@pytest.mark.parametrize(
    "encoding,declare,bom",
    [
        ("cp1252", None, b""),
        ("latin-1", None, b""),
        ("cp1252", "iso-8859-1", b""),
        ("utf-16-le", None, b"\xff\xfe"),
        ("utf-16-le", None, b""),
        ("utf-16-be", None, b""),
        ("utf-8", None, b"\xef\xbb\xbf"),
        ("utf-8", "windows-1252", b""),
    ],
)
def test_encodings(tmp_path, encoding, declare, bom):
    pf = parse(tmp_path, "p.html", bom + html_bytes(WORD, encoding, declare))
    assert pf.status == "ok", pf.reason
    assert WORD in pf.documents["text"][0]


def test_one_invalid_byte_does_not_garble_the_page():
    data = html_bytes(WORD, "utf-8").replace(b"story", b"st\xffory", 1)
    text, how = decode_bytes(data, sniff_html=True)
    assert how == "utf-8:replace" and WORD in text and text.count("\ufffd") == 1


def test_nul_and_control_characters_removed(tmp_path):
    pf = parse(tmp_path, "c.html", html_bytes("con\x00trol\x07 chars\x1b", "utf-8"))
    text = pf.documents["text"][0]
    assert "control chars" in text and not any(ord(c) < 32 and c != "\n" for c in text)


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("empty.html", b"", "empty_file"),
        ("image.html", b"\x89PNG\r\n\x1a\n" + os.urandom(2000), "binary_content"),
        ("noise.html", bytes(range(0, 32)) * 200, "binary_content"),
        ("menu.html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no_article"),
        ("notes.docx", b"PK\x03\x04 whatever", "unknown_format"),
        ("x.json.gz", b"not gzip at all", "corrupt_gzip"),
        ("bad.warc", b"WARC/1.0\r\nthis is not a warc record\r\n\r\n", None),
    ],
)
def test_bad_files_are_rejected_with_reason(tmp_path, name, data, reason):
    pf = parse(tmp_path, name, data)
    assert pf.status == "rejected" and pf.documents.height == 0 and pf.rejects.height >= 1
    if reason:
        assert pf.reason == reason and reason in pf.rejects["reason"].to_list()


def test_deeply_nested_page(tmp_path):
    deep = "<div>" * 5000 + "<p>" + "deep text " * 50 + "</p>" + "</div>" * 5000
    pf = parse(tmp_path, "deep.html", f"<html><body>{deep}</body></html>")
    assert pf.status == "rejected" and pf.reason == "too_deep"


def test_huge_page(tmp_path):
    data = b"<html><body><p>" + b"word " * (10 * 1024 * 1024) + b"</p></body></html>"  # ~50 MB
    pf = parse(tmp_path, "huge.html", data)
    assert pf.status == "rejected" and pf.reason == "html_too_large"


def test_decompression_bomb_and_truncated_gzip(tmp_path):
    cfg = IngestConfig(max_decompressed_bytes=5 << 20, now=CFG.now)
    bomb = gzip.compress(b" " * (40 << 20))
    assert len(bomb) < 100_000
    pf = parse(tmp_path, "bomb.html.gz", bomb, config=cfg)
    assert (pf.status, pf.reason) == ("rejected", "decompression_bomb")
    lines = b"".join(b'{"id": %d, "title": "T%d", "text": "Body %d."}\n' % (i, i, i) for i in range(3000))
    cut = gzip.compress(lines)[:-2000]
    pf = parse(tmp_path, "cut.jsonl.gz", cut)
    assert pf.reason == "truncated_gzip" and pf.status == "partial"
    assert 0 < pf.documents.height < 3000
    assert pf.rejects.filter(pf.rejects["record_key"].is_null())["reason"].to_list() == ["truncated_gzip"]


def test_no_network_and_no_entity_expansion(tmp_path, monkeypatch):
    calls = []

    def refuse(*a, **k):
        calls.append(a)
        raise OSError("network disabled in test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE html [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<html><head><meta property="article:published_time" content="http://evil.example/date">'
        '<link rel="canonical" href="http://evil.example/2024/01/01/a"></head><body><article><h1>T</h1>'
        + "<p>&x; "
        + "Some real words in a paragraph here. " * 20
        + "</p>" * 3
        + "</article></body></html>"
    )
    pf = parse(tmp_path, "in/xxe.html", xxe)
    assert pf.status == "ok"
    assert "TOPSECRET" not in pf.documents["text"][0]
    assert calls == []


def _inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a.html").write_text(page())
    (inbox / "b.txt").write_text("Head\n\nBody one.\n\n\n\nHead two\n\nBody two.\n")
    (inbox / "c.jsonl").write_text('{"title": "T", "text": "x"}\n{oops\n')
    (inbox / "d.png").write_bytes(b"\x89PNG\r\n")
    (inbox / "e.html").write_bytes(b"")
    (inbox / "sub").mkdir()
    (inbox / "sub" / "f.html.gz").write_bytes(gzip.compress(page().encode())[:50])
    os.symlink("/etc/hostname", inbox / "outside.html")
    os.symlink(inbox / "a.html", inbox / "inside.html")
    os.symlink("/etc", inbox / "linkdir")
    os.mkfifo(inbox / "pipe.txt")
    return inbox


def test_scan_inbox_never_follows_links(tmp_path):
    entries = scan_inbox(_inbox(tmp_path))
    kinds = {e.rel_path: e.kind for e in entries}
    assert kinds["outside.html"] == kinds["inside.html"] == kinds["linkdir"] == "symlink"
    assert kinds["pipe.txt"] == "special" and kinds["sub/f.html.gz"] == "file"
    assert [e.rel_path for e in entries] == sorted(kinds)
    assert not any(e.rel_path.startswith("linkdir/") for e in entries)


def test_parse_files_reconciles_every_file_and_record(tmp_path):
    entries = scan_inbox(_inbox(tmp_path))
    progress = []
    out = list(
        parse_files(
            entries,
            config=IngestConfig(workers=2, now=CFG.now),
            ingested_at=AT,
            on_progress=lambda d, t: progress.append((d, t)),
        )
    )
    assert [p.rel_path for p in out] == [e.rel_path for e in entries]  # input order, one result each
    assert progress[-1] == (len(entries), len(entries))
    for p in out:
        assert p.status in ("ok", "partial", "rejected")
        record_rejects = p.rejects.filter(p.rejects["record_key"].is_not_null()).height
        assert p.records == p.documents.height + record_rejects, p.rel_path
        assert (p.status == "rejected") == (p.documents.height == 0)
        assert p.status == "ok" or p.reason
    by = {p.rel_path: p for p in out}
    assert by["a.html"].status == "ok" and by["c.jsonl"].status == "partial"
    assert by["outside.html"].reason == "symlink" and by["pipe.txt"].reason == "special_file"
    assert by["sub/f.html.gz"].reason == "truncated_gzip"


def test_worker_time_limit_stops_hung_parsing(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for i in range(3):
        (inbox / f"{i}.html").write_text(page())
    cfg = IngestConfig(workers=1, timeout_s=0.0, now=CFG.now)  # every file overruns a zero limit
    out = list(parse_files(scan_inbox(inbox), config=cfg, ingested_at=datetime.now(UTC)))
    assert [p.rel_path for p in out] == ["0.html", "1.html", "2.html"]
    assert all(p.status == "rejected" and p.reason == "timeout" for p in out)
    assert all(p.rejects["reason"].to_list() == ["timeout"] for p in out)


def test_parse_file_never_raises_on_vanished_file(tmp_path):
    (tmp_path / "gone.html").write_text(page())
    entry = scan_inbox(tmp_path)[0]
    (tmp_path / "gone.html").unlink()
    pf = parse_file(entry, config=CFG, ingested_at=AT)
    assert (pf.status, pf.reason) == ("rejected", "vanished")  # transient: retried on the next run

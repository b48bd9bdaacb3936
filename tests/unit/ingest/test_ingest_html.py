"""HTML pages: the no-article gate (short stories in, link lists out) and where ``site`` comes from.

Fixtures under ``tests/fixtures/html`` were written for this project (no third-party pages).
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.ingest import IngestConfig, parse_file, scan_inbox
from pipeline.ingest.html import extract_html
from pipeline.ingest.records import Reject
from pipeline.ingest.site import url_host

FIXTURES = Path(__file__).parent / "fixtures" / "html"
AT = datetime(2025, 1, 2, tzinfo=UTC)
CFG = IngestConfig(now=datetime(2025, 1, 1, tzinfo=UTC))
STORY = "<p>The harbour board approved the new ferry timetable on Tuesday after a long debate about costs.</p>"


def parse(tmp_path: Path, name: str, data: bytes):
    (tmp_path / name).write_bytes(data)
    entry = next(e for e in scan_inbox(tmp_path) if e.rel_path == name)
    return parse_file(entry, config=CFG, ingested_at=AT)


def article_page(head: str = "", body: str = STORY) -> str:
    return (
        f"<html><head><title>Ferry timetable approved</title>{head}</head><body><article>{body}</article></body></html>"
    )


@pytest.mark.parametrize("path", sorted((FIXTURES / "articles").glob("*.html")), ids=lambda p: p.name)
def test_short_stories_are_articles(tmp_path, path):
    pf = parse(tmp_path, path.name, path.read_bytes())
    assert (pf.status, pf.records) == ("ok", 1)
    row = pf.documents.row(0, named=True)
    assert row["body_end"] > row["body_start"]


def test_brief_keeps_its_lines(tmp_path):
    pf = parse(tmp_path, "div.html", (FIXTURES / "articles" / "dividend_notice.html").read_bytes())
    row = pf.documents.row(0, named=True)
    body = row["text"][row["body_start"] : row["body_end"]]
    assert "Qtly div 14 cts vs 14 cts prior" in body and "Record March 12" in body


@pytest.mark.parametrize("path", sorted((FIXTURES / "non_articles").glob("*.html")), ids=lambda p: p.name)
def test_pages_without_an_article_are_rejected(tmp_path, path):
    pf = parse(tmp_path, path.name, path.read_bytes())
    assert pf.status == "rejected" and list(pf.rejects["reason"]) == ["no_article"]


def test_link_list_is_no_article_even_with_sentence_sized_links():
    links = "".join(
        f"<li><a href='/n/{i}'>Council member number {i} explains her vote on the harbour budget at length</a></li>"
        for i in range(8)
    )
    with pytest.raises(Reject) as err:
        extract_html(f"<html><head><title>Latest</title></head><body><h1>Latest</h1><ul>{links}</ul></body></html>")
    assert err.value.code == "no_article"


def test_one_line_without_article_markup_is_not_enough():
    # the same short line is a brief inside <article>, but bare on a page it is indistinguishable from a stub
    page = "<html><head><title>Note</title></head><body><div><p>Pay April 2</p></div></body></html>"
    with pytest.raises(Reject) as err:
        extract_html(page)
    assert err.value.code == "no_article"
    assert extract_html(article_page(body="<p>Qtly div 14 cts vs 14 cts prior</p><p>Pay April 2</p>")).body


def ld(obj: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def test_site_from_json_ld_publisher():
    head = ld({"@type": "NewsArticle", "headline": "x", "publisher": {"@type": "Organization", "name": "Lake Post"}})
    assert extract_html(article_page(head)).site == "Lake Post"


def test_site_from_json_ld_graph_prefers_the_article_publisher():
    graph = {
        "@graph": [
            {"@type": "WebSite", "publisher": {"name": "Lake Media Group"}},
            {"@type": "NewsArticle", "publisher": {"name": "Lake Post"}},
        ]
    }
    assert extract_html(article_page(ld(graph))).site == "Lake Post"


def test_site_meta_tag_wins_over_json_ld():
    head = "<meta property='og:site_name' content='The Lake Post'>" + ld({"publisher": {"name": "Lake Media"}})
    assert extract_html(article_page(head)).site == "The Lake Post"


def test_site_from_url_host():
    assert extract_html(article_page(), url="https://www.lakepost.example.org/2024/03/05/x").site == (
        "lakepost.example.org"
    )
    canonical = "<link rel='canonical' href='https://news.lakepost.example:8443/a/1'>"
    assert extract_html(article_page(canonical)).site == "news.lakepost.example"
    assert extract_html(article_page()).site is None  # no markup, no URL: unknown, not guessed


def test_site_reaches_the_document_row(tmp_path):
    canonical = "<link rel='canonical' href='https://www.lakepost.example/a/1'>"
    pf = parse(tmp_path, "a.html", article_page(canonical).encode())
    assert pf.documents["site"][0] == "lakepost.example"


@pytest.mark.parametrize(
    "url,host",
    [("http://WWW.Example.COM./x", "example.com"), ("ftp://example.com/x", None), ("https://localhost/", None)],
)
def test_url_host(url, host):
    assert url_host(url) == host


LOAD_CASES = {
    "plain": "<html><head><title>T</title></head><body><p id='a'>One <b>two</b></p><!-- note --><p>x</p></body></html>",
    "xml declaration": '<?xml version="1.0" encoding="utf-8"?><html><body><p>Declared</p></body></html>',
    "doctype with a slash": '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "http://www.w3.org/TR/x.dtd">\n'
    "<html><body><p>Old doctype</p></body></html>",
    "self-closing html": '<html lang="en"/>\n<body><p>Self-closing root</p></body>',
    "form and inputs": "<html><body><form action='/s'><label>Q</label><input name='q' value='v'>"
    "<select><option>a</option></select><textarea>t</textarea></form><p>Text</p></body></html>",
    "control characters": "<html><body><p>a\x01b\x0bc</p><?pi x?></body></html>",
    "dubious fragment": "<p>just a fragment</p>",
    "no markup to speak of": "plain words <",
}


@pytest.mark.parametrize("name", sorted(LOAD_CASES))
def test_load_page_builds_trafilaturas_tree(name):
    from lxml import etree
    from lxml.html import HtmlElement
    from trafilatura.utils import load_html

    from pipeline.ingest.html.extract import load_page

    ours, theirs = load_page(LOAD_CASES[name]), load_html(LOAD_CASES[name])
    assert (ours is None) == (theirs is None)
    if ours is not None:
        assert etree.tostring(ours) == etree.tostring(theirs)
        assert all(isinstance(el, HtmlElement) for el in ours.iter(etree.Element))  # text_content() & co. work
        assert ours.text_content() == theirs.text_content()

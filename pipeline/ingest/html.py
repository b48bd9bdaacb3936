"""HTML pages -> title, body paragraphs, captions, metadata and date candidates (the only trafilatura user).

The page is parsed once (trafilatura's own loader, from a ``str`` we decoded), gated on nesting depth, then
metadata comes from trafilatura's metadata helpers *without* its date search (htmldate is slow and invents
dates); publication-date candidates come from explicit markup (JSON-LD ``datePublished``, publication meta
tags, ``<time itemprop=datePublished>``) and the URL; htmldate runs only when those give nothing, on markup
only, and its answer must be found written in the page (see :mod:`.dates`). No network, ever: we pass text
or trees, never URL-like strings, and lxml does not load external entities or DTDs.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from dataclasses import dataclass, field

from lxml import etree

from pipeline.ingest.dates import Candidate, url_date
from pipeline.ingest.records import Reject

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

# trafilatura options, measured on the extraction benchmark (benchmarks/README-ingest): ``favor_recall`` with
# ``fast`` (no readability/justext comparison) scores as well as ``favor_precision`` at ~60% of its CPU.
# Precision's extra pruning of the raw tree cost more than all our own page handling; the balanced focus
# re-runs extraction in recall mode whenever its first result is short, so recall first saves that pass.
# Boilerplate that recall lets through is cut below (captions, repeated headline, no-article gate).
EXTRACT_OPTIONS = dict(
    fast=True,
    favor_recall=True,
    include_comments=False,
    include_tables=True,
    include_images=False,
    deduplicate=False,  # its cache is process-global: results would depend on what ran before
    with_metadata=False,  # metadata is done below without the date search
)

MIN_PARAGRAPH_WORDS = 10  # an article has at least one sentence-sized paragraph...
MIN_PARAGRAPH_CHARS = 50  # ...counted in characters for scripts written without spaces (CJK)

_PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "published_time",
    "article.published",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "sailthru.date",
    "parsely-pub-date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dc.date.created",
    "dcterms.created",
    "citation_publication_date",
    "originalpublicationdate",
    "article_date_original",
    "date",
)
_PUB_RANK = {k: i for i, k in enumerate(_PUBLISHED_META)}
_META_XP = etree.XPath("//meta[@content][@property or @name or @itemprop]")
_LD_XP = etree.XPath('//script[contains(translate(@type,"LDJSON","ldjson"),"ld+json")]/text()')
_TIME_XP = etree.XPath('//time[@datetime][@itemprop="datePublished" or @pubdate or @itemprop="dateCreated"]')
_CAPTION_XP = etree.XPath("//figcaption")


@dataclass
class HtmlPage:
    title: str | None
    body: list[str]
    captions: list[str]
    authors: list[str]
    site: str | None
    url: str | None
    dates: list[Candidate] = field(default_factory=list)
    date_verify_text: str | None = None


@functools.lru_cache(maxsize=8)
def _too_deep_xpath(limit: int) -> etree.XPath:
    # one C-level pass instead of a Python walk over every element: some element has ``limit`` ancestors
    return etree.XPath(f"boolean(//*[ancestor::*[{int(limit)}]])")


def too_deep(tree, limit: int) -> bool:
    """Whether element nesting goes deeper than ``limit`` levels (the root element is level 1)."""
    return bool(_too_deep_xpath(max(1, limit))(tree))


def _ld_dates(tree) -> list[str]:
    out: list[str] = []

    def walk(o, depth=0):
        if depth > 20 or len(out) > 10:
            return
        if isinstance(o, dict):
            v = o.get("datePublished")
            if isinstance(v, str):
                out.append(v)
            for x in o.values():
                if isinstance(x, (dict, list)):
                    walk(x, depth + 1)
        elif isinstance(o, list):
            for x in o[:200]:
                walk(x, depth + 1)

    for blob in _LD_XP(tree)[:20]:
        if len(blob) > 2_000_000:
            continue
        try:
            walk(json.loads(blob))
        except (ValueError, RecursionError):
            continue
    return out


def date_candidates(tree, url: str | None) -> list[Candidate]:
    """Publication-date candidates from explicit markup, in precedence order, then the URL's date."""
    cands = [Candidate(v.strip(), "metadata") for v in _ld_dates(tree) if v.strip()]
    metas = []
    for m in _META_XP(tree):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        if key in _PUB_RANK and (v := (m.get("content") or "").strip()):
            metas.append((_PUB_RANK[key], v))
    cands += [Candidate(v, "metadata") for _, v in sorted(metas, key=lambda t: t[0])]
    cands += [Candidate(t.get("datetime").strip(), "metadata") for t in _TIME_XP(tree) if t.get("datetime").strip()]
    if (u := url_date(url)) is not None:
        cands.append(u)
    return cands


def _text_of(el) -> str:
    return " ".join("".join(el.itertext()).split())


def warm_up() -> None:
    """Import trafilatura now (it is imported lazily), so a worker's first file does not pay for it."""
    import trafilatura.core  # noqa: F401
    import trafilatura.metadata  # noqa: F401


def extract_html(text: str, *, url: str | None = None, max_depth: int = 250, want_dates: bool = True) -> HtmlPage:
    """Extract one page from decoded HTML ``text``; raise :class:`Reject` when it is no article.

    ``text`` is decoded HTML; the caller rejects binary data and cleans the returned fields (control
    characters, NFC) when it builds the document row.
    """
    from trafilatura import bare_extraction
    from trafilatura.metadata import (
        examine_meta,
        extract_meta_json,
        extract_sitename,
        extract_title,
        extract_url,
    )
    from trafilatura.utils import load_html

    if "<" not in text[:65536]:
        raise Reject("not_html", "no markup in the first 64 KiB")
    tree = load_html(text)
    if tree is None:
        raise Reject("not_html", "lxml could not build a tree")
    if too_deep(tree, max_depth):
        raise Reject("too_deep", f"element nesting deeper than {max_depth}")

    meta = examine_meta(tree)
    with contextlib.suppress(Exception):  # trafilatura's JSON-LD reader has had bugs on odd input
        meta = extract_meta_json(tree, meta)
    title = meta.title or extract_title(tree)
    # meta tags and JSON-LD only: trafilatura's byline search (extract_author) costs ~40 ms a page
    author = meta.author if meta.author and " " in meta.author else None
    page_url = meta.url or extract_url(tree, url) or url
    site = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    captions = [c for c in (_text_of(el) for el in _CAPTION_XP(tree)) if c]
    cands = date_candidates(tree, url or page_url) if want_dates else []

    doc = bare_extraction(tree, url=url or page_url, **EXTRACT_OPTIONS)  # copies the tree
    body_text = (doc.text if doc is not None else "") or ""
    paras = [" ".join(p.split()) for p in body_text.split("\n")]
    cap_keys = {c.casefold() for c in captions}
    body = [p for p in paras if p and p.casefold() not in cap_keys]
    if body and title and body[0].casefold() == " ".join(title.split()).casefold():
        body = body[1:]  # the headline repeated at the top of the article body
    if not any(len(p.split()) >= MIN_PARAGRAPH_WORDS or len(p) >= MIN_PARAGRAPH_CHARS for p in body):
        # pages without an article yield menus and link lists: short lines only
        raise Reject("no_article", "no article body found")

    verify = None
    if want_dates and not cands:
        from htmldate import find_date

        try:
            found = find_date(tree, extensive_search=False, original_date=True, outputformat="%Y-%m-%d")
        except Exception:  # htmldate on hostile markup: treat as no date
            found = None
        if found:
            from datetime import date

            cands.append(Candidate(found, "text", value=date.fromisoformat(found), verify=True))
            verify = text
    authors = [a.strip() for a in (author or "").split(";") if a.strip()]
    return HtmlPage(title, body, captions, authors, site, page_url, cands, verify)

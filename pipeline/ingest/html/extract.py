"""HTML pages -> title, body paragraphs, captions, metadata and date candidates (the only trafilatura user).

The page is parsed once (trafilatura's own loader, from a ``str`` we decoded), gated on nesting depth, then
metadata comes from trafilatura's metadata helpers *without* its date search (htmldate is slow and invents
dates); publication-date candidates come from explicit markup (JSON-LD ``datePublished``, publication meta
tags, ``<time itemprop=datePublished>``) and the URL; htmldate runs only when those give nothing, on markup
only, and its answer must be found written in the page (see :mod:`.dates`). No network, ever: we pass text
or trees, never URL-like strings, and lxml does not load external entities or DTDs.

Body: trafilatura's balanced cascade (comments off, tables on), run once on the tree parsed above by
:mod:`.cascade`; its readability/justext comparison runs only when the main extractor's result is short or
mostly link text (``ExtractionConfig.compare_below``). The no-article gate (:func:`is_article`)
rejects bodies made of link texts, and accepts briefs whose every line is short when the page marks itself
as one article (one ``<article>``, ``og:type=article``, JSON-LD ``*Article``/``*Posting``, ``articleBody``).
Everything that reads the tree runs before the extraction, which prunes it in place (no copy of the page).

``site`` precedence (:mod:`pipeline.ingest.site`): site meta tags (``og:site_name``, ``application-name``,
``dc.publisher``...) > JSON-LD ``publisher.name`` > a domain-like site name in ``<title>`` > the URL host
(the record's URL, else the page's canonical URL; without ``www.``).
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
from pipeline.ingest.site import site_name

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

# trafilatura's balanced focus with its readability/justext comparison (``fast=False``) is what holds on pages
# we never tuned to; the comparison rescues pages whose main extraction grabbed a teaser or a sidebar. It costs
# a readability pass, so it runs only when the main result is short (``ExtractionConfig.compare_below``): long
# results are the ones it almost never changes (trafilatura's own recall mode skips it above 10x
# min_extracted_size). Options (comments off, tables on, no images, no dedup cache): :func:`.cascade.options`.


@dataclass(frozen=True, kw_only=True)
class ExtractionConfig:
    """What :func:`extract_html` does beyond trafilatura's defaults (each measured on both development sets)."""

    compare_below: int | None = 2500  # chars of the main result; None = always compare, 0 = never
    drop_captions: bool = True  # figcaption text is kept in ``captions``, not repeated in the body
    drop_repeated_title: bool = True  # the headline repeated as the first body line
    trim_link_lines: bool = False  # link-text lines at the start and end of the body (menus, related links)
    max_link_share: float = 0.5  # body words that are link texts of the page: above this, a link list
    min_short_story_words: int = 3  # a page marked as an article with only short lines: a brief


DEFAULT_EXTRACTION = ExtractionConfig()

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
_LINK_XP = etree.XPath("//a")
_ARTICLE_BODY_XP = etree.XPath('boolean(//*[@itemprop="articleBody"])')
_ARTICLE_COUNT_XP = etree.XPath("count(//article)")
_LD_ARTICLE = ("article", "posting", "report")  # NewsArticle, BlogPosting, Report... (lower-cased suffixes)


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
    # some element has ``limit`` ancestors, i.e. sits at level ``limit + 1``: one C-level pass. A path of
    # ``limit + 1`` child steps visits each element once (half the cost of an ancestor test per element);
    # very long paths are left to the ancestor test.
    if limit < 1000:
        return etree.XPath("boolean(/" + "/".join(["*"] * (int(limit) + 1)) + ")")
    return etree.XPath(f"boolean(//*[ancestor::*[{int(limit)}]])")


@functools.cache
def _parser():
    """trafilatura's ``HTML_PARSER`` (same options) with element classes chosen in C.

    lxml.html picks each element's Python class by calling a Python method (``HtmlElementClassLookup``) every
    time an element object is created: thousands of times a page, in trafilatura's stages as much as in
    ours (~1 ms a page). This parser gives every element ``HtmlElement`` by a C-level lookup; lxml.html's
    form classes (``FormElement``, ``InputElement``...) only add form-field helpers, which neither
    trafilatura nor we use. Copies of the tree keep the parser, so trafilatura's stages profit too.
    """
    from lxml import html as lxml_html

    parser = lxml_html.HTMLParser(
        collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True, remove_pis=True
    )
    parser.set_element_class_lookup(
        etree.ElementDefaultClassLookup(
            element=lxml_html.HtmlElement,
            comment=lxml_html.HtmlComment,
            pi=lxml_html.HtmlProcessingInstruction,
            entity=lxml_html.HtmlEntity,
        )
    )
    return parser


def load_page(text: str):
    """``trafilatura.utils.load_html(text)`` for a decoded page, step for step (its repairs, its fallback to
    bytes, its rejection of dubious input), parsed with :func:`_parser`: the same tree, or None."""
    from lxml.html import fromstring
    from trafilatura.utils import is_dubious_html, repair_faulty_html

    beginning = text[:50].lower()
    dubious = is_dubious_html(beginning)
    text = repair_faulty_html(text, beginning)
    parser, from_bytes, tree = _parser(), False, None
    try:
        tree = fromstring(text, parser=parser)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, from_bytes = _from_bytes(text, parser), True
    except Exception:  # as load_html: no tree
        tree = None
    if (tree is None or len(tree) < 1) and not from_bytes:
        tree = _from_bytes(text, parser)
    if tree is not None and dubious and len(tree) < 2:
        return None
    return tree


def _from_bytes(text: str, parser):
    from lxml.html import fromstring

    try:
        return fromstring(text.encode("utf8", "surrogatepass"), parser=parser)
    except Exception:  # as trafilatura's fromstring_bytes
        return None


def too_deep(tree, limit: int) -> bool:
    """Whether element nesting goes deeper than ``limit`` levels (the root element is level 1)."""
    return bool(_too_deep_xpath(max(1, limit))(tree))


def ld_objects(tree) -> list[dict]:
    """Every JSON object inside the page's JSON-LD blocks (``@graph`` members and nested objects included)."""
    out: list[dict] = []

    def walk(o, depth=0):
        if depth > 20 or len(out) > 500:
            return
        if isinstance(o, dict):
            out.append(o)
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


def _ld_dates(objects: list[dict]) -> list[str]:
    return [v for o in objects if isinstance(v := o.get("datePublished"), str)][:11]


def date_candidates(tree, url: str | None, objects: list[dict] | None = None) -> list[Candidate]:
    """Publication-date candidates from explicit markup, in precedence order, then the URL's date."""
    objects = ld_objects(tree) if objects is None else objects
    cands = [Candidate(v.strip(), "metadata") for v in _ld_dates(objects) if v.strip()]
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


def _metas(tree) -> dict[str, str]:
    """Lower-cased meta key (property, name or itemprop) -> its first non-empty content."""
    out: dict[str, str] = {}
    for m in _META_XP(tree):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").strip().lower()
        if key and key not in out and (v := (m.get("content") or "").strip()):
            out[key] = v
    return out


def _article_marked(tree, metas: dict[str, str], objects: list[dict]) -> bool:
    """Whether the publisher marks this page as *one* article (one ``<article>``, og:type, JSON-LD, itemprop)."""
    if metas.get("og:type", "").lower() == "article" or _ARTICLE_BODY_XP(tree):
        return True
    if any(isinstance(t := o.get("@type"), str) and t.lower().endswith(_LD_ARTICLE) for o in objects):
        return True
    return _ARTICLE_COUNT_XP(tree) == 1


def _link_texts(tree) -> set[str]:
    # _key(_text_of(a)) in one normalisation (the text is whitespace-normalised before the bullet strip); the
    # text serialisation is text_content() without an XPath evaluation per link
    return {
        k
        for a in _LINK_XP(tree)[:20000]
        if (
            k := " ".join(etree.tostring(a, method="text", encoding=str, with_tail=False).split())
            .lstrip(_BULLETS)
            .casefold()
        )
    }


_BULLETS = "-*•·> "


def _key(line: str) -> str:
    # list items come out of trafilatura as "- item"; compare link texts without the bullet and case
    return " ".join(line.lstrip(_BULLETS).split()).casefold()


def link_share(lines: list[str], link_texts: set[str]) -> float:
    """Share of the words of ``lines`` that sit in lines which are the text of a link on the page."""
    words = sum(len(p.split()) for p in lines)
    linked = sum(len(p.split()) for p in lines if _key(p) in link_texts)
    return linked / words if words else 0.0


def is_article(
    body: list[str], *, link_texts: set[str], boilerplate: list[str], marked: bool, config: ExtractionConfig
) -> bool:
    """The no-article gate: tell a story, however short, from a page of menus and link lists.

    Body lines that are the text of a link on the page are navigation, not prose; caption and headline text
    (``boilerplate``) is not prose either (a gallery is captions under a headline). A page is an article when
    its prose holds a sentence-sized paragraph, or, for briefs (dividend notices, corrections, whose every line
    is short), when the publisher marks the page as one article and some words remain; either way link lines
    must not make up most of the body.
    """
    if not body or link_share(body, link_texts) > config.max_link_share:
        return False
    prose = []
    for p in body:
        if _key(p) in link_texts:
            continue
        for b in boilerplate:
            p = p.replace(b, " ")
        if p := " ".join(p.split()):
            prose.append(p)
    if any(len(p.split()) >= MIN_PARAGRAPH_WORDS or len(p) >= MIN_PARAGRAPH_CHARS for p in prose):
        return True
    return marked and sum(len(p.split()) for p in prose) >= config.min_short_story_words


def extract_html(
    text: str,
    *,
    url: str | None = None,
    max_depth: int = 250,
    want_dates: bool = True,
    config: ExtractionConfig = DEFAULT_EXTRACTION,
) -> HtmlPage:
    """Extract one page from decoded HTML ``text``; raise :class:`Reject` when it is no article.

    ``text`` is decoded HTML; the caller rejects binary data and cleans the returned fields (control
    characters, NFC) when it builds the document row. ``url`` is where the page was fetched (a WARC target).
    """
    from trafilatura.metadata import examine_meta, extract_meta_json, extract_sitename, extract_title, extract_url

    if "<" not in text[:65536]:
        raise Reject("not_html", "no markup in the first 64 KiB")
    tree = load_page(text)
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
    metas, objects = _metas(tree), ld_objects(tree)
    site = site_name(metas, objects, title_site=extract_sitename(tree), url=url, page_url=page_url)
    captions = [c for c in (_text_of(el) for el in _CAPTION_XP(tree)) if c]
    cands = date_candidates(tree, url or page_url, objects) if want_dates else []

    link_texts = _link_texts(tree)
    marked = _article_marked(tree, metas, objects)
    verify = None
    if want_dates and not cands:  # before the extraction, which consumes the tree (htmldate copies it)
        from htmldate import find_date

        try:
            found = find_date(tree, extensive_search=False, original_date=True, outputformat="%Y-%m-%d")
        except Exception:  # htmldate on hostile markup: treat as no date
            found = None
        if found:
            from datetime import date

            cands.append(Candidate(found, "text", value=date.fromisoformat(found), verify=True))
            verify = text
    body = _extract(tree, url or page_url, config, link_texts, text)
    if config.drop_captions and captions:
        cap_keys = {c.casefold() for c in captions}
        body = [p for p in body if p.casefold() not in cap_keys]
    if config.drop_repeated_title and body and title and body[0].casefold() == " ".join(title.split()).casefold():
        body = body[1:]  # the headline repeated at the top of the article body
    if config.trim_link_lines:
        while body and _key(body[0]) in link_texts:
            body = body[1:]
        while body and _key(body[-1]) in link_texts:
            body = body[:-1]
    boilerplate = [" ".join(t.split()) for t in [*captions, title or ""] if t.strip()]
    if not is_article(body, link_texts=link_texts, boilerplate=boilerplate, marked=marked, config=config):
        raise Reject("no_article", "no article body found")

    authors = [a.strip() for a in (author or "").split(";") if a.strip()]
    return HtmlPage(title, body, captions, authors, site, page_url, cands, verify)


def _extract(tree, url: str | None, config: ExtractionConfig, link_texts: set[str], source: str) -> list[str]:
    """trafilatura's body lines (consumes ``tree``): its cascade with the readability/justext comparison only
    when the main extractor's result is short or mostly link text (a menu taken for the article)."""
    from pipeline.ingest.html.cascade import extract_lines

    def needs_comparison(lines: list[str]) -> bool:
        if config.compare_below is None:
            return True
        return sum(map(len, lines)) < config.compare_below or link_share(lines, link_texts) > config.max_link_share

    return extract_lines(tree, url, needs_comparison, source=source)[0]

"""trafilatura's extraction cascade on a tree we already parsed, with its comparison stage run only when needed.

``trafilatura.bare_extraction`` copies the tree it is given, prunes and cleans a copy, runs its main extractor,
then (``fast=False``) compares that result with readability and justext, then its baseline rescue and its
recall escalation. Run twice (a fast pass, then a full pass when the fast result is short), the cleaning and
the main extractor run twice on those pages. :func:`extract_lines` runs the same stages once, on the caller's
tree (consumed: pruned in place), and the comparison only when the main extractor's result is short or
mostly link text (``needs_comparison``): the pages where it can change the answer.

The stages are trafilatura's own functions, in the order of ``trafilatura.core.trafilatura_sequence``
(trafilatura 2.3.1, pinned in constraints.txt), for one configuration: balanced focus, comments off, tables
on, images off, no formatting. tests/unit/ingest/test_html_cascade.py checks it against ``bare_extraction``.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from copy import copy

from lxml import etree

__all__ = [
    "comment_prune_may_match",
    "extract_lines",
    "options",
    "page_text_bound",
    "page_text_length",
    "raw_prune_may_match",
]


def options(url: str | None = None):
    """trafilatura's ``Extractor`` for our configuration (what ``bare_extraction`` builds from its keywords)."""
    from trafilatura.settings import DEFAULT_CONFIG, Extractor

    return Extractor(
        config=DEFAULT_CONFIG,
        output_format="python",
        fast=False,
        comments=False,
        tables=True,
        images=False,
        links=False,
        formatting=False,
        dedup=False,
        url=url,
    )


def extract_lines(
    tree, url: str | None, needs_comparison: Callable[[list[str]], bool], *, source: str | None = None
) -> tuple[list[str], bool]:
    """Body lines of ``tree`` (consumed) and whether the readability/justext comparison ran.

    ``needs_comparison(lines)`` sees the main extractor's lines and says whether to compare them with
    readability and justext (trafilatura ``fast=False`` does it on every page). ``source``: the ``str``
    the tree was parsed from (``trafilatura.utils.load_html``), when known; it lets
    :class:`PruneHints` skip prunes that cannot match.
    """
    try:
        return _run(tree, url, needs_comparison, source)
    except (TypeError, ValueError):  # bare_extraction's answer to these: no document
        return [], False


def _run(
    tree, url: str | None, needs_comparison: Callable[[list[str]], bool], source: str | None
) -> tuple[list[str], bool]:
    from trafilatura import core
    from trafilatura.baseline import baseline
    from trafilatura.external import compare_extraction, justext_rescue
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.main_extractor import extract_content
    from trafilatura.xml import xmltotxt
    from trafilatura.xpaths import RAW_TREE_PRUNE_XPATH, REMOVE_COMMENTS_AND_LISTS_XPATH

    opts = options(url)
    is_forum = core._forum_thread_page(tree)
    hints = PruneHints(source) if source is not None else None  # skip prunes that cannot match
    if hints is None or hints.may_match(RAW_PRUNE_NEEDLES):
        tree = prune_unwanted_nodes(tree, RAW_TREE_PRUNE_XPATH)
    # comments off: trafilatura prunes comment sections from the raw tree
    if not is_forum and hints is None:
        tree = prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
    elif not is_forum and hints is not None and hints.may_match(COMMENT_PRUNE_NEEDLES):
        prune_comment_sections(tree)
    cleaned, backup = core._prepare_tree(tree, opts, url)

    # 1. main extractor; 2. the comparison with readability/justext, only when it may change the answer
    body, text = extract_content(cleaned, opts)
    main_body, main_lines = body, _lines(xmltotxt(body, False))
    compared = needs_comparison(main_lines)
    if compared:
        body, text = compare_extraction(backup, copy(tree), body, text, opts)

    # 3. baseline rescue on the uncleaned tree, kept only when it adds text
    if len(text) < opts.min_extracted_size:
        b_body, b_text, b_len = baseline(tree)
        if b_len > len(text):
            body, text = b_body, b_text

    # 4. recall escalation: a short result covering little of the page is retried in recall mode
    if (
        0 < len(text) < core.ESCALATION_MAX_LENGTH
        and len(text) < core.ESCALATION_PAGE_SHARE * page_text_bound(tree)
        and len(text) < core.ESCALATION_PAGE_SHARE * page_text_length(tree)
    ):
        r_opts = copy(opts)
        r_opts.focus = "recall"
        r_text = j_text = ""
        with contextlib.suppress(Exception):  # as trafilatura: a failed candidate is no candidate
            r_body, r_text = core._recall_retry(tree, r_opts, url)
        with contextlib.suppress(Exception):
            j_body, j_text = justext_rescue(copy(tree), opts)
        if len(j_text) > len(r_text) and len(j_text) > core.ESCALATION_JUSTEXT_RATIO * len(text):
            body, text = j_body, j_text
        elif len(r_text) >= opts.min_extracted_size and len(r_text) > core.ESCALATION_ACCEPT_RATIO * len(text):
            body, text = r_body, r_text

    if len(text) < opts.min_output_size:
        return [], compared
    return (main_lines if body is main_body else _lines(xmltotxt(body, False))), compared


# trafilatura's two raw-tree prunes (RAW_TREE_PRUNE_XPATH, REMOVE_COMMENTS_AND_LISTS_XPATH) walk every
# element, testing div/section/... attributes with a Python regex per element: ~1 ms a page each, and they
# rarely match. The raw prune can only match an element whose @id or @class holds "mvp-post-add-" or "infinite"
# (regex "mvp-post-add-(?:box|wrap)|infinite-?scroll") or whose @class holds "elementor-share-buttons"; the
# comment prune one whose @id starts with "[Cc]omment", "comol", "disqus_thread" or "dsq-comments", or whose
# @class holds "omment" ("^[Cc]omment(?!ary)|(?:article|post)-comments"). An attribute value is the source
# text with character references decoded and the characters trafilatura's loader removes (INVALID_XML_CHARS)
# dropped; no named HTML entity stands for an ASCII letter, "-" or "_". So when the source holds none of a
# prune's strings, no numeric reference to one of their characters and no removed character, that prune
# cannot match and is skipped. tests/unit/ingest/test_html_cascade.py pins trafilatura's expressions.
RAW_PRUNE_NEEDLES = ("mvp-post-add-", "infinite", "elementor-share-buttons")
COMMENT_PRUNE_NEEDLES = ("omment", "comol", "disqus_thread")
_NUMERIC_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+))")


class PruneHints:
    """Which of trafilatura's raw-tree prunes can match the tree parsed from ``source`` (see above)."""

    def __init__(self, source: str):
        from trafilatura.utils import INVALID_XML_CHARS

        self.source = source
        self.removed_chars = INVALID_XML_CHARS.search(source) is not None
        self._refs: set[str] | None = None

    def referenced(self) -> set[str]:
        """Characters the source writes as numeric character references (computed once)."""
        if self._refs is None:
            codes = (int(h, 16) if h else int(d) for h, d in _NUMERIC_REF.findall(self.source))
            self._refs = {chr(c) for c in codes if c < 0x110000}
        return self._refs

    def may_match(self, needles: tuple[str, ...]) -> bool:
        if self.removed_chars or any(n in self.source for n in needles):
            return True
        return not self.referenced().isdisjoint("".join(needles))


# REMOVE_COMMENTS_AND_LISTS_XPATH element by element (pinned in tests/unit/ingest/test_html_cascade.py): a div,
# list, section, details, ol or ul below the root whose @id matches _COMMENT_ID or whose @class matches
# _COMMENT_CLASS (lxml's re:test is a search; a missing attribute is the empty string, which none matches);
# an ol or ul only when its @id matches _COMMENT_LIST_ID or its @class _COMMENT_CLASS.
_COMMENT_TAGS = ("div", "list", "section", "details", "ol", "ul")
_COMMENT_ID = re.compile(r"^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)")
_COMMENT_LIST_ID = re.compile(r"^(?:[Cc]omment(?!ary)|comol)")
_COMMENT_CLASS = re.compile(r"^[Cc]omment(?!ary)|(?:article|post)-comments")


def prune_comment_sections(tree) -> None:
    """trafilatura's ``prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)`` without the XPath: the
    tag filter runs in C (``iter``) and the regexes only on the attributes of those elements (~3x cheaper).
    All matches are found first, then deleted in document order, as the XPath's result list is."""
    from trafilatura.xml import delete_element

    matches = []
    for el in tree.iter(*_COMMENT_TAGS):
        if el is tree:
            continue
        ident, cls = el.get("id") or "", el.get("class") or ""
        by_class = _COMMENT_CLASS.search(cls) is not None
        if not (by_class or _COMMENT_ID.search(ident)):
            continue
        if el.tag in ("ol", "ul") and not (by_class or _COMMENT_LIST_ID.search(ident)):
            continue
        matches.append(el)
    for el in matches:
        delete_element(el)


def raw_prune_may_match(source: str) -> bool:
    """False when trafilatura's raw-tree prune provably matches nothing in the tree parsed from ``source``."""
    return PruneHints(source).may_match(RAW_PRUNE_NEEDLES)


def comment_prune_may_match(source: str) -> bool:
    """False when trafilatura's comment prune provably matches nothing in the tree parsed from ``source``."""
    return PruneHints(source).may_match(COMMENT_PRUNE_NEEDLES)


_BODY = etree.XPath("(//body)[1]")
_BODY_TEXT_LEN = etree.XPath("string-length(normalize-space((//body)[1]))")
_BODY_RAW_TEXT = etree.XPath("(//body)[1]//script | (//body)[1]//style", smart_strings=False)


def page_text_bound(tree) -> float:
    """An upper bound of ``len(trafilatura.baseline.html2txt(tree))`` at a fifth of its cost (no tree copy).

    html2txt copies the tree, deletes script, style, aside, footer... (``basic_cleaning``), puts a space
    before the text and the tail of every block element and collapses whitespace. Deleting a subtree
    shortens the collapsed text by at least its non-space characters (scripts and styles are counted), each
    inserted space lengthens it by at most one, and XPath's ``normalize-space`` collapses fewer characters
    than ``str.split``. The recall escalation needs the page length only when the result is short against
    it, so most pages are decided by the bound alone. No ``<body>``: no bound (html2txt takes the tree).
    """
    from trafilatura.baseline import _BLOCK_ELEMS

    body = _BODY(tree)
    if not body:
        return float("inf")
    raw = sum(len("".join((e.text or "").split())) for e in _BODY_RAW_TEXT(tree))
    return _BODY_TEXT_LEN(tree) - raw + 2 * sum(1 for _ in body[0].iter(*_BLOCK_ELEMS))


# html2txt's BASIC_CLEAN_XPATH, element by element (pinned in tests/unit/ingest/test_html_cascade.py): these tags;
# a div whose first of @class/@id (in attribute order: the string value of "@class|@id") holds "footer"; any
# element whose @class or @id matches the cookie-consent expression, ignoring case (lxml's re:test is a search).
BASIC_CLEAN_TAGS = frozenset({"aside", "fencedframe", "footer", "script", "style", "svg", "template"})


@functools.cache
def _consent_rx() -> re.Pattern[str]:
    from trafilatura.settings import _COOKIE_CONSENT_RE

    return re.compile(_COOKIE_CONSENT_RE, re.IGNORECASE)


def basic_clean_deletes(el) -> bool:
    """Whether trafilatura's ``basic_cleaning`` deletes ``el`` (a descendant of the element it cleans)."""
    tag = el.tag
    if not isinstance(tag, str):
        return False
    if tag in BASIC_CLEAN_TAGS:
        return True
    cls, ident = el.get("class"), el.get("id")
    if cls is None and ident is None:
        return False
    if tag == "div":
        first = el.get(next(k for k in el.attrib if k in ("class", "id")))  # "@class|@id" as a string
        if "footer" in first:
            return True
    rx = _consent_rx()
    return (cls is not None and rx.search(cls) is not None) or (ident is not None and rx.search(ident) is not None)


def page_text_length(tree) -> int:
    """``len(trafilatura.baseline.html2txt(tree))`` without copying, rewriting or regex-XPath (~4x cheaper).

    html2txt copies the tree, deletes what ``BASIC_CLEAN_XPATH`` selects under ``<body>`` (script, style,
    aside, footer, cookie banners...: :func:`basic_clean_deletes`; each one's tail is joined to the previous
    sibling's tail or the parent's text), puts a space before the text and the tail of every block element
    (their text cleaned of non-printable characters), takes the body's text and collapses whitespace. This
    walks the body once, skipping the deleted subtrees, and builds the same text: a deleted element's tail is
    cleaned when the element that receives it is a block (cleaning is character by character, so cleaning the
    joined text is cleaning each part). Pages without ``<body>`` are left to html2txt.
    tests/unit/ingest/test_html_cascade.py and both development sets check it against html2txt.
    """
    from trafilatura.baseline import _BLOCK_ELEMS, html2txt
    from trafilatura.utils import remove_control_characters as clean

    body = tree.find(".//body")
    if body is None:
        return len(html2txt(tree))
    parts = [body.text or ""]  # the body itself is no block element
    # per open element: is the element that receives a deleted child's tail (the last kept child before it,
    # else the open element itself) a block
    receiver_block: list[bool] = [False]
    walker = etree.iterwalk(body, events=("start", "end"))
    next(walker)  # the body's own start
    skipped = None  # the deleted element whose subtree is being skipped
    for event, el in walker:
        if event == "start":
            if basic_clean_deletes(el):
                walker.skip_subtree()
                skipped = el
                continue
            block = isinstance(el.tag, str) and el.tag in _BLOCK_ELEMS
            if not isinstance(el.tag, str):  # comment or processing instruction: only its tail is text
                pass
            elif block:
                parts.append(f" {clean(el.text)}" if el.text else " ")
            elif el.text:
                parts.append(el.text)
            receiver_block.append(block)  # it receives the tails of its deleted first children
            continue
        if skipped is not None and el is skipped:
            skipped = None
            if el.tail:
                parts.append(clean(el.tail) if receiver_block[-1] else el.tail)
            continue
        if el is body:
            break
        receiver_block.pop()
        block = isinstance(el.tag, str) and el.tag in _BLOCK_ELEMS
        if block:
            parts.append(f" {clean(el.tail)}" if el.tail else " ")
        elif el.tail:
            parts.append(el.tail)
        receiver_block[-1] = block  # later deleted siblings' tails join this element's tail
    return len(" ".join("".join(parts).split()))


def _lines(text: str) -> list[str]:
    return [p for p in (" ".join(p.split()) for p in (text or "").split("\n")) if p]

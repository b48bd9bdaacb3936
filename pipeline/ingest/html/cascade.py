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
from collections.abc import Callable
from copy import copy

from lxml import etree

__all__ = ["extract_lines", "options", "page_text_bound"]


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


def extract_lines(tree, url: str | None, needs_comparison: Callable[[list[str]], bool]) -> tuple[list[str], bool]:
    """Body lines of ``tree`` (consumed) and whether the readability/justext comparison ran.

    ``needs_comparison(lines)`` sees the main extractor's lines and says whether to compare them with
    readability and justext (trafilatura ``fast=False`` does it on every page).
    """
    try:
        return _run(tree, url, needs_comparison)
    except (TypeError, ValueError):  # bare_extraction's answer to these: no document
        return [], False


def _run(tree, url: str | None, needs_comparison: Callable[[list[str]], bool]) -> tuple[list[str], bool]:
    from trafilatura import core
    from trafilatura.baseline import baseline, html2txt
    from trafilatura.external import compare_extraction, justext_rescue
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.main_extractor import extract_content
    from trafilatura.xml import xmltotxt
    from trafilatura.xpaths import RAW_TREE_PRUNE_XPATH, REMOVE_COMMENTS_AND_LISTS_XPATH

    opts = options(url)
    is_forum = core._forum_thread_page(tree)
    tree = prune_unwanted_nodes(tree, RAW_TREE_PRUNE_XPATH)
    if not is_forum:  # comments off: trafilatura prunes comment sections from the raw tree
        tree = prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
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
        and len(text) < core.ESCALATION_PAGE_SHARE * len(html2txt(tree))
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


def _lines(text: str) -> list[str]:
    return [p for p in (" ".join(p.split()) for p in (text or "").split("\n")) if p]

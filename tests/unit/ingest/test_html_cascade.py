"""The extraction cascade (trafilatura's stages run once on our tree) against trafilatura's own entry point.

Pages are generated here (no third-party pages): a long article, a short one among menus and sidebars, a
page whose article sits in divs without paragraphs, minified markup, a page without ``<body>``.
"""

import random
from copy import deepcopy

import pytest
from lxml import etree
from trafilatura import bare_extraction
from trafilatura.baseline import html2txt
from trafilatura.utils import load_html

from pipeline.ingest.html import cascade, too_deep

WORDS = [
    "harbour",
    "council",
    "ferry",
    "timetable",
    "budget",
    "vote",
    "members",
    "approved",
    "debate",
    "costs",
    "residents",
    "island",
    "service",
    "morning",
    "evening",
    "crossing",
    "tickets",
    "fares",
    "summer",
    "winter",
    "schedule",
    "port",
    "authority",
]


def sentence(rng: random.Random, n: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def paragraphs(rng: random.Random, k: int) -> str:
    return "".join(f"<p>{sentence(rng)} {sentence(rng)}</p>" for _ in range(k))


def menu(k: int = 12) -> str:
    return "<nav><ul>" + "".join(f"<li><a href='/s/{i}'>Section {i}</a></li>" for i in range(k)) + "</ul></nav>"


def pages() -> dict[str, str]:
    rng = random.Random(16)
    head = "<head><title>Ferry timetable approved</title><script>var x = {a: 1, b: 'two words'};</script></head>"
    aside = "<aside><h3>Most read</h3>" + "".join(f"<p><a href='/r/{i}'>{sentence(rng, 6)}</a></p>" for i in range(6))
    return {
        "long": f"<html>{head}<body>{menu()}<article><h1>Ferry</h1>{paragraphs(rng, 30)}</article>"
        f"{aside}</aside><footer>Contact us</footer></body></html>",
        "short": f"<html>{head}<body>{menu(40)}<main><article><h1>Ferry</h1>{paragraphs(rng, 2)}</article></main>"
        f"{aside}</aside><div class='comments'>{paragraphs(rng, 3)}</div><footer>About</footer></body></html>",
        "divs": f"<html>{head}<body>{menu()}<div id='content'>"
        + "".join(f"<div>{sentence(rng)} {sentence(rng)}</div>" for _ in range(8))
        + f"</div>{aside}</aside></body></html>",
        "minified": "<html><body>" + "".join(f"<div><span>{w}</span></div>" for w in WORDS) + "</body></html>",
        "nbsp": "<html><body><p>" + "\u00a0".join(WORDS) + "</p><style>p { color: red }</style></body></html>",
    }


def trafilatura_lines(html: str, fast: bool) -> list[str]:
    doc = bare_extraction(
        load_html(html),
        fast=fast,
        include_comments=False,
        include_tables=True,
        include_images=False,
        deduplicate=False,
    )
    text = (doc.text if doc is not None else "") or ""
    return [p for p in (" ".join(p.split()) for p in text.split("\n")) if p]


@pytest.mark.parametrize("name", ["long", "short", "divs"])
def test_always_comparing_is_trafilatura_with_its_comparison(name):
    html = pages()[name]
    lines, compared = cascade.extract_lines(load_html(html), None, lambda lines: True)
    assert compared
    assert lines and lines == trafilatura_lines(html, fast=False)


def test_skipping_the_comparison_on_a_long_result_is_trafilatura_fast():
    html = pages()["long"]
    seen: list[list[str]] = []
    lines, compared = cascade.extract_lines(load_html(html), None, lambda lines: bool(seen.append(lines)))
    assert not compared
    assert lines == seen[0] == trafilatura_lines(html, fast=True)


def test_the_decision_sees_the_main_extractors_lines():
    html = pages()["short"]
    seen: list[list[str]] = []
    cascade.extract_lines(load_html(html), None, lambda lines: bool(seen.append(lines)) or True)
    assert len(seen) == 1 and seen[0] and all(isinstance(p, str) and p for p in seen[0])
    assert not any(p.startswith("Section ") for p in seen[0])  # the menu is not the article


@pytest.mark.parametrize("name", ["long", "short", "divs", "minified", "nbsp"])
def test_page_text_bound_bounds_trafilaturas_page_text(name):
    tree = load_html(pages()[name])
    bound = cascade.page_text_bound(tree)
    assert len(html2txt(tree)) <= bound < float("inf")


def test_page_text_bound_is_close_on_plain_pages():
    tree = load_html(pages()["long"])
    assert cascade.page_text_bound(tree) <= 2 * len(html2txt(tree))


def test_page_text_bound_without_body_is_no_bound():
    tree = load_html("<html><body><p>x</p></body></html>")
    tree.remove(tree.find("body"))
    assert cascade.page_text_bound(tree) == float("inf")


def nested(depth: int):
    # html > body > div ...: the deepest div sits at level depth + 2 (built, not parsed: parsers cap depth)
    root = etree.Element("html")
    el = etree.SubElement(root, "body")
    for _ in range(depth):
        el = etree.SubElement(el, "div")
    el.text = "x"
    return root


@pytest.mark.parametrize("limit", [5, 40, 1200])
def test_too_deep_boundary(limit):
    assert not too_deep(nested(limit - 2), limit)  # deepest element at level == limit
    assert too_deep(nested(limit - 1), limit)  # one level deeper


def test_too_deep_does_not_change_the_tree():
    tree = nested(10)
    copy_ = deepcopy(tree)
    too_deep(tree, 5)
    assert [e.tag for e in tree.iter()] == [e.tag for e in copy_.iter()]


# the regular expressions and strings the prune hints reason from (cascade.py); a trafilatura upgrade that
# changes them must fail here, so that the hints are derived again
PINNED = {
    "RAW_TREE_PRUNE_XPATH": {
        "mvp-post-add-(?:box|wrap)|infinite-?scroll",
        "mvp-post-add-(?:box|wrap)",
        "elementor-share-buttons",
    },
    "REMOVE_COMMENTS_AND_LISTS_XPATH": {
        "^(?:[Cc]omment(?!ary)|comol|disqus_thread|dsq-comments)",
        "^(?:[Cc]omment(?!ary)|comol)",
        "^[Cc]omment(?!ary)|(?:article|post)-comments",
    },
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_prune_hints_pin_trafilaturas_expressions(name):
    import re

    from trafilatura import xpaths

    assert {lit for xp in getattr(xpaths, name) for lit in re.findall(r"'([^']*)'", xp.path)} == PINNED[name]


# (prune, attribute of a div holding a second story): the prune removes that div
MATCHED = [
    ("RAW_TREE_PRUNE_XPATH", "id='infinite-scroll'"),
    ("RAW_TREE_PRUNE_XPATH", "class='wrap infinitescroll'"),
    ("RAW_TREE_PRUNE_XPATH", "class='mvp-post-add-box'"),
    ("RAW_TREE_PRUNE_XPATH", "id='mvp-post-add-wrap'"),
    ("RAW_TREE_PRUNE_XPATH", "class='elementor-share-buttons x'"),
    ("RAW_TREE_PRUNE_XPATH", "class='inf&#105;nite-scroll'"),  # references decode to the letters tested
    ("RAW_TREE_PRUNE_XPATH", "id='&#x6D;vp-post-add-box'"),
    ("RAW_TREE_PRUNE_XPATH", "class='elementor&#45;share-buttons'"),
    ("RAW_TREE_PRUNE_XPATH", "class='infi\x01nite-scroll'"),  # trafilatura's loader drops control characters
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", "id='comments'"),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", "id='Comment-12'"),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", "class='x post-comments'"),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", "id='disqus_thread'"),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", "id='comol'"),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", "class='&#99;omment-list'"),
    ("REMOVE_COMMENTS_AND_LISTS_XPATH", "id='disqus&#95;thread'"),
]
UNMATCHED = ["class='scroll'", "id='post-add-box'", "class='Infinite-Scroll'", "class='share-buttons'", "id='remarks'"]


def prune_page(attr: str) -> str:
    rng = random.Random(7)
    return (
        f"<html><head><title>Ferry</title></head><body>{menu()}<article><h1>Ferry</h1>{paragraphs(rng, 12)}"
        f"</article><div {attr}><h2>Next story</h2>{paragraphs(rng, 20)}</div></body></html>"
    )


def _pruned(html: str, name: str) -> bool:
    from trafilatura import xpaths
    from trafilatura.htmlprocessing import prune_unwanted_nodes

    tree = load_html(html)
    before = sum(1 for _ in tree.iter())
    return sum(1 for _ in prune_unwanted_nodes(tree, getattr(xpaths, name)).iter()) < before


HINT = {
    "RAW_TREE_PRUNE_XPATH": cascade.raw_prune_may_match,
    "REMOVE_COMMENTS_AND_LISTS_XPATH": cascade.comment_prune_may_match,
}


@pytest.mark.parametrize(("name", "attr"), MATCHED)
def test_prune_hint_never_skips_a_prune_that_matches(name, attr):
    html = prune_page(attr)
    assert _pruned(html, name)  # the page exercises the prune...
    assert HINT[name](html)  # ...so the hint must let it run
    with_hint = cascade.extract_lines(load_html(html), None, lambda lines: True, source=html)
    assert with_hint == cascade.extract_lines(load_html(html), None, lambda lines: True)


@pytest.mark.parametrize("attr", UNMATCHED)
def test_prune_hints_skip_pages_they_cannot_match(attr):
    html = prune_page(attr)
    for name, hint in HINT.items():
        assert not _pruned(html, name)
        assert not hint(html)
    with_hint = cascade.extract_lines(load_html(html), None, lambda lines: True, source=html)
    assert with_hint == cascade.extract_lines(load_html(html), None, lambda lines: True)


@pytest.mark.parametrize("name", ["long", "short", "divs", "minified", "nbsp"])
def test_cascade_with_the_source_is_trafilatura(name):
    html = pages()[name]
    lines, compared = cascade.extract_lines(load_html(html), None, lambda lines: True, source=html)
    assert compared and lines == trafilatura_lines(html, fast=False)


def test_basic_clean_rules_pin_trafilaturas_expression():
    from trafilatura.settings import _COOKIE_CONSENT_RE, BASIC_CLEAN_XPATH

    assert BASIC_CLEAN_XPATH.path == (
        ".//aside|.//div[contains(@class|@id, 'footer')]|.//fencedframe|.//footer|.//script|.//style|.//svg"
        f"|.//template|.//*[re:test(@class, '{_COOKIE_CONSENT_RE}', 'i') or re:test(@id, '{_COOKIE_CONSENT_RE}', 'i')]"
    )


TEXT_PAGES = {
    "cookie banners": "<html><body><p>Story one.</p><div class='CookieBanner x'>Accept all</div>tail one"
    "<section id='onetrust-consent-sdk'><p>We use cookies</p></section><span class='cmplz'>x</span>"
    "<p id='cookie_notice'>ok</p><p class='cookiejar'>kept</p></body></html>",
    "footer attribute order": "<html><body><div id='main' class='footer'>kept: id comes first</div>"
    "<div class='footer' id='main'>gone</div><div class='site-footer'>gone too</div>after<p>end</p></body></html>",
    "tails of deleted elements": "<html><body><div><script>var a=1;</script>tail into div text<p>p</p>"
    "<style>p{}</style>tail after p<span>s</span><aside>x</aside>tail after span</div>"
    "<aside>first</aside>tail into body<footer>f</footer></body></html>",
    "nested deletions": "<html><body><aside><footer>x</footer><script>y</script>z</aside>tail<div>"
    "<svg><template>t</template></svg>after svg</div></body></html>",
    "control characters": "<html><body><p>soft\u00adhy\u200bphen</p><aside>a</aside>zero\u200bwidth "
    "<b>bold\u200b</b><script>s</script>tail\u00ad of inline<div>x</div>\u200btail of block</body></html>",
    "minified blocks": "<html><body>"
    + "".join(f"<div><span>{w}</span></div><br>{w}" for w in WORDS)
    + "</body></html>",
}


@pytest.mark.parametrize("name", sorted(TEXT_PAGES) + ["long", "short", "divs", "minified", "nbsp"])
def test_page_text_length_is_html2txts(name):
    html = TEXT_PAGES.get(name) or pages()[name]
    tree = load_html(html)
    assert cascade.page_text_length(tree) == len(html2txt(tree)) > 0
    assert cascade.page_text_length(tree) <= cascade.page_text_bound(tree)


def test_page_text_length_leaves_the_tree_alone():
    tree = load_html(TEXT_PAGES["tails of deleted elements"])
    before = etree.tostring(tree)
    cascade.page_text_length(tree)
    assert etree.tostring(tree) == before


def test_page_text_length_without_body_is_html2txts():
    tree = load_html("<html><body><p>x y</p></body></html>")
    tree.remove(tree.find("body"))
    tree.append(etree.fromstring("<div><p>a b</p><aside>c</aside>d</div>"))
    assert cascade.page_text_length(tree) == len(html2txt(tree))


def test_comment_prune_regexes_are_trafilaturas():
    literals = PINNED["REMOVE_COMMENTS_AND_LISTS_XPATH"]
    assert {cascade._COMMENT_ID.pattern, cascade._COMMENT_LIST_ID.pattern, cascade._COMMENT_CLASS.pattern} == literals


COMMENT_SECTIONS = [
    "<div id='comments'><p>c1</p></div>tail one",
    "<section class='x post-comments'><p>c2</p><div id='comment-7'>nested</div>inner tail</section>tail two",
    "<ul id='comments'><li>listed</li></ul><ol class='commentlist'><li>o</li></ol>",
    "<ul id='disqus_thread'><li>kept: lists need a comment id or class</li></ul>",
    "<div id='disqus_thread'>gone</div><details class='article-comments'>d</details>",
    "<div id='Commentary'>kept: commentary</div><div class='commentary-box'>kept too</div>",
    "<div id='dsq-comments'>dsq</div><list class='Comment'>odd tag</list><div id='xcomment'>kept</div>",
]


@pytest.mark.parametrize("section", COMMENT_SECTIONS)
def test_prune_comment_sections_is_trafilaturas_prune(section):
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.xpaths import REMOVE_COMMENTS_AND_LISTS_XPATH

    html = f"<html><body><article><p>Story.</p>{section}<p>After.</p></article>{section}</body></html>"
    theirs, ours = load_html(html), load_html(html)
    prune_unwanted_nodes(theirs, REMOVE_COMMENTS_AND_LISTS_XPATH)
    cascade.prune_comment_sections(ours)
    assert etree.tostring(ours) == etree.tostring(theirs)

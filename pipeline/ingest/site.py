"""Site (publisher) name of an HTML page, in a fixed, documented precedence.

1. the page's own site meta tags: ``og:site_name``, then ``application-name``, ``dc.publisher`` /
   ``dcterms.publisher`` / ``publisher``;
2. the ``publisher.name`` of a JSON-LD object (the article's first, else any object's);
3. a site name written in the ``<title>`` after the headline that looks like a domain (trafilatura's
   ``extract_sitename``: "Headline | example.com");
4. the host of the page's URL: the record's URL (a WARC target, where the bytes were really fetched), else the
   canonical URL the page declares; lower-cased, without ``www.`` and port.

Markup first because a publisher names itself best ("The Daily Example", not "dailyexample.com"); the host
last because it is always right about *where* but only approximately *who*. Social handles (``twitter:site``)
are not used: "@dailyex" is neither a name nor a host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_META_KEYS = ("og:site_name", "application-name", "dc.publisher", "dcterms.publisher", "publisher")
_ARTICLE_TYPES = ("article", "posting", "report")  # NewsArticle, BlogPosting, Report, ... (lower-cased match)


def _name(v) -> str | None:
    if isinstance(v, list):
        v = v[0] if v else None
    if isinstance(v, dict):
        v = v.get("name")
    return " ".join(v.split()) if isinstance(v, str) and v.strip() else None


def ld_publisher(objects: list[dict]) -> str | None:
    """``publisher.name`` of the first article-typed JSON-LD object, else of the first object that has one."""

    def is_article(o: dict) -> bool:
        t = o.get("@type")
        types = t if isinstance(t, list) else [t]
        return any(isinstance(x, str) and any(a in x.lower() for a in _ARTICLE_TYPES) for x in types)

    named = [(o, n) for o in objects if (n := _name(o.get("publisher")))]
    for o, n in named:
        if is_article(o):
            return n
    return named[0][1] if named else None


def url_host(url: str | None) -> str | None:
    """``www.example.co.uk:8080`` -> ``example.co.uk``; None for anything that is not an http(s) URL."""
    if not url or not url.lower().startswith(("http://", "https://")):
        return None
    try:
        host = (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    host = host.removeprefix("www.")
    return host if "." in host else None


def site_name(
    metas: dict[str, str], ld_objects: list[dict], *, title_site: str | None, url: str | None, page_url: str | None
) -> str | None:
    """The site name by the module's precedence; ``metas`` maps lower-cased meta keys to their first value."""
    for key in _META_KEYS:
        if v := _name(metas.get(key)):
            return v.lstrip("@") or None
    if v := ld_publisher(ld_objects):
        return v
    if title_site:
        return title_site
    return url_host(url) or url_host(page_url)

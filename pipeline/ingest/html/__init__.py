"""HTML pages -> documents: the one package that imports trafilatura.

:mod:`.extract` parses the page once and reads title, metadata and date candidates; :mod:`.cascade` runs
trafilatura's body-extraction stages on that same tree.
"""

from pipeline.ingest.html.extract import extract_html, too_deep, warm_up

__all__ = ["extract_html", "too_deep", "warm_up"]

"""Bytes to text, in the order that keeps real pages readable, and text cleaning.

Order: BOM -> UTF-16/32 without BOM (NUL-byte pattern) -> declared charset -> strict UTF-8 -> UTF-8 with
replacement when nearly all of it is valid (one bad byte must not turn a page into mojibake) -> a detector
(charset-normalizer) -> cp1252. Declared ``iso-8859-1``/``ascii`` decode as cp1252 (as browsers do); a
declared single-byte charset (any, not only Western ones) loses to valid multi-byte UTF-8 (the commonest
mislabel on the web); ``how`` then ends in ``beats-declared``.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{2,40})""", re.I)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]{0,100}encoding\s*=\s*["']([A-Za-z0-9_.:-]{2,40})""")
_SINGLE_BYTE_WESTERN = {"latin-1", "iso8859-1", "ascii", "cp1252", "iso8859-15"}
# C0/C1 controls except tab and newline; also lone surrogates and non-characters that break Arrow/UTF-8
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]")
MAX_REPLACEMENT_RATIO = 0.001  # "nearly all valid": at most 1 bad byte in 1000


def _norm_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'").lower()).name
    except LookupError:
        return None
    if codec in ("latin-1", "iso8859-1", "ascii"):
        return "cp1252"  # WHATWG: these labels mean windows-1252
    return codec


def sniff_declared(data: bytes | bytearray) -> str | None:
    """Charset declared in an XML declaration or HTML ``<meta>`` within the first 4 KB."""
    head = data[:4096]
    m = _XML_ENCODING.match(head.lstrip()) or _META_CHARSET.search(head)
    return _norm_codec(m.group(1).decode("ascii", "ignore")) if m else None


@functools.cache
def _single_byte(codec: str) -> bool:
    """A one-byte-per-character codec (windows-125x, ISO-8859-x, KOI8, ...). Non-ASCII bytes that form valid
    multi-byte UTF-8 are almost never meant as such a codec: UTF-8 declared as windows-1251 was stored as
    mojibake before this check covered every single-byte codec, not only the Western ones."""
    try:
        return len(bytes(range(256)).decode(codec, errors="replace")) == 256
    except LookupError:
        return False


def utf16_without_bom(data: bytes | bytearray) -> str | None:
    sample = data[:4096]
    if len(sample) < 4:
        return None
    even_nul = sample[0::2].count(0) / (len(sample) / 2)
    odd_nul = sample[1::2].count(0) / (len(sample) / 2)
    if odd_nul > 0.3 and even_nul < 0.05:
        return "utf-16-le"
    if even_nul > 0.3 and odd_nul < 0.05:
        return "utf-16-be"
    return None


def decode_bytes(data: bytes | bytearray, *, declared: str | None = None, sniff_html: bool = False) -> tuple[str, str]:
    """Decode ``data``; return ``(text, how)`` where ``how`` names the codec and the rule that chose it.

    Parameters
    ----------
    declared
        Charset from outside the bytes (an HTTP ``Content-Type`` in a WARC record).
    sniff_html
        Also look for a charset declared inside the document (``<meta charset>``, XML declaration).
    """
    codec: str | None  # a BOM's codec, else the UTF-16 variant the NUL pattern shows (or None)
    for bom, codec in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(codec, errors="replace"), f"{codec}:bom"
    codec = utf16_without_bom(data)
    if codec:
        return data.decode(codec, errors="replace"), f"{codec}:nul-pattern"
    decl = _norm_codec(declared) or (sniff_declared(data) if sniff_html else None)
    if decl and decl.startswith("utf-16"):
        decl = None  # a UTF-16 label on bytes without NUL pattern is a lie (the page was re-encoded)
    if decl and decl != "utf-8":
        if _single_byte(decl) and not data.isascii():
            try:
                return data.decode("utf-8"), "utf-8:beats-declared"
            except UnicodeDecodeError:
                pass
        try:
            return data.decode(decl), f"{decl}:declared"
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8"), "utf-8:strict"
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= max(1, len(data) * MAX_REPLACEMENT_RATIO):
        return text, "utf-8:replace"
    from charset_normalizer import from_bytes  # lazy: only for the rare non-UTF-8 file

    matches = list(from_bytes(data[:200_000]))
    best = matches[0] if matches else None
    # the detector scores near-ASCII Western text as Baltic/Central European ("naďve"); windows-1252 is the
    # web's commonest legacy charset (the WHATWG default), so it wins whenever it is a plausible reading
    western = next((m for m in matches if m.encoding == "cp1252"), None)
    if best is not None and western is not None and western.chaos <= best.chaos + 0.1:
        best = western
    if best is not None and best.encoding:
        try:
            return data.decode(best.encoding, errors="replace"), f"{best.encoding}:detected"
        except LookupError:
            pass
    return data.decode("cp1252", errors="replace"), "cp1252:fallback"


def clean_text(text: str) -> str:
    """Normalise newlines, drop NUL/control characters, NFC-normalise."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return unicodedata.normalize("NFC", text)


def control_ratio(text: str, *, sample: int = 8192) -> float:
    """Share of control characters in the start of ``text`` (binary data decoded as text scores high)."""
    s = text[:sample]
    if not s:
        return 0.0
    return len(_CONTROL.findall(s)) / len(s)

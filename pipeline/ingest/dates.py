"""Publication dates: strict parsing of raw strings, sanity flags and a documented precedence.

Nothing here reads the machine's time zone: every value is built with an explicit zone and converted to
UTC; ``pub_date`` is the UTC date of ``pub_datetime`` (``23:30-05:00`` on the 5th is the 6th).

Parsing is strict: a raw string either parses completely (ISO 8601 and its compact/slash forms, numeric
D.M.Y / D/M/Y / M/D/Y, English month names, RFC 2822, or the configured ``date_format``) or is not a date.
A date-only value becomes midnight UTC of that day (flag ``date_only``); a naive time is read in the
configured zone (UTC unless said otherwise; flag ``naive_time``).

Sanity flags (``date_flags``) and what they do to a candidate:

=================  =====================================================================================
flag               meaning / effect
=================  =====================================================================================
impossible         calendar-invalid (``2024-13-45``, ``31.02.``): candidate discarded
not_in_raw         a library's answer whose day/month/year cannot be found in the raw text: discarded
future             later than ``now`` (+1 day for date-only values, 15 min otherwise): discarded
too_old            before 1800: discarded
ambiguous_dmy      ``05/06/2023`` reads both ways: kept only if another candidate matches one reading
                   (within a day), which then picks it; otherwise discarded
url_mismatch       the URL's Y/M/D and the chosen date differ by more than one day (see precedence)
date_only          no time of day given; ``pub_datetime`` is midnight UTC
naive_time         time without offset, read in the configured zone
unparsed           a raw value was present but is not a date in any accepted form
=================  =====================================================================================

Precedence (first surviving candidate wins): ``metadata`` (publication-date keys only, never
``dateModified``) > ``record_field`` > ``url`` (full Y/M/D in the path) > ``text`` (a date line in the
article header, or a library's date verified against the page) > ``file_name``. When the URL carries a full
date that disagrees by more than a day with a ``metadata`` or ``text`` date, the URL wins (it is fixed at
publication; metadata dates are often render or update times) and ``url_mismatch`` is set. A record field
is a curated export value and keeps precedence over the URL (the flag is still set). No candidate left ->
``pub_datetime``/``pub_date`` NULL and ``date_source`` ``none`` (flags still say why).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from pipeline.errors import InvalidDate

SOURCES = ("metadata", "record_field", "url", "text", "file_name")
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_ZONE_ABBR = {
    "Z": 0,
    "UTC": 0,
    "GMT": 0,
    "UT": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "BST": 1,
    "JST": 9,
}
_TIME = (
    r"(?:(?:T|\s+|,\s*|\s+at\s+)(?P<H>\d{1,2})[:.](?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d{1,9}))?)?"
    r"\s*(?P<ampm>[ap]\.?m\.?)?)?"
    r"\s*(?P<tz>Z|(?:UTC|GMT)?\s*[+-]\d{1,2}(?::?\d{2})?|[A-Z]{1,4})?"
)
_ISO = re.compile(r"(?P<y>\d{4})(?P<sep>[-/.]?)(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})" + _TIME + r"$", re.I)
_NUMERIC = re.compile(r"(?P<a>\d{1,2})(?P<sep>[./-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4})" + _TIME + r"$", re.I)
_WORDY_DMY = re.compile(
    r"(?:[A-Za-z]{3,9},?\s+)?(?P<d>\d{1,2})(?:st|nd|rd|th)?\.?[\s-]+(?P<mon>[A-Za-z]{3,9})\.?,?[\s-]+(?P<y>\d{4})"
    + _TIME
    + r"$",
    re.I,
)
_WORDY_MDY = re.compile(
    r"(?:[A-Za-z]{3,9},?\s+)?(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})"
    + _TIME
    + r"$",
    re.I,
)
_URL_DATE = re.compile(r"/(?P<y>(?:19|20)\d{2})[/-]?(?P<m>0[1-9]|1[0-2])[/-]?(?P<d>0[1-9]|[12]\d|3[01])(?:/|-|_|\.|$)")
_URL_DATE_SEP = re.compile(r"/(?P<y>(?:19|20)\d{2})/(?P<m>\d{1,2})/(?P<d>\d{1,2})(?:/|$)")
_FILE_DATE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-_.]?(?P<m>0[1-9]|1[0-2])[-_.]?(?P<d>0[1-9]|[12]\d|3[01])(?!\d)")


@dataclass(frozen=True)
class Candidate:
    raw: str
    source: str  # one of SOURCES
    fmt: str | None = None  # explicit format (JSONL mapping)
    tz: str = "UTC"  # zone of a naive value
    verify: bool = False  # value came from a library: check it against ``raw`` (see not_in_raw)
    value: date | datetime | None = None  # pre-parsed value (library answers, URL/file-name dates)


@dataclass(frozen=True)
class DateResult:
    pub_datetime: datetime | None
    date_raw: str | None
    date_source: str
    flags: tuple[str, ...]

    @property
    def pub_date(self) -> date | None:
        return self.pub_datetime.date() if self.pub_datetime else None


@lru_cache(maxsize=64)
def _zone(name: str):
    return UTC if name.upper() in ("UTC", "Z") else ZoneInfo(name)


def _tzinfo(tz: str | None):
    if not tz:
        return None
    tz = tz.strip()
    up = tz.upper()
    if up in _ZONE_ABBR:
        return timezone(timedelta(hours=_ZONE_ABBR[up]))
    m = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])(\d{1,2}):?(\d{2})?", up)
    if not m:
        raise ValueError(f"unknown zone {tz!r}")
    hours, minutes = int(m.group(2)), int(m.group(3) or 0)
    if hours > 14 or minutes > 59:
        raise ValueError(f"impossible offset {tz!r}")
    sign = -1 if m.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


class ImpossibleDate(InvalidDate):
    pass


def _build(y, m, d, g: re.Match, naive_tz: str, flags: list[str]) -> datetime:
    try:
        day = date(int(y), int(m), int(d))
    except ValueError as err:
        raise ImpossibleDate(str(err)) from err
    if g.group("H") is None:
        flags.append("date_only")
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    hour, minute = int(g.group("H")), int(g.group("M"))
    second = int(g.group("S") or 0)
    micro = int((g.group("F") or "0")[:6].ljust(6, "0"))
    ampm = (g.group("ampm") or "").lower().replace(".", "")
    if ampm:
        if not 1 <= hour <= 12:
            raise ImpossibleDate("bad 12-hour clock")
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    try:
        tzinfo = _tzinfo(g.group("tz"))
        naive = datetime(day.year, day.month, day.day, hour, minute, second, micro)
    except ValueError as err:
        raise ImpossibleDate(str(err)) from err
    if tzinfo is None:
        flags.append("naive_time")
        tzinfo = _zone(naive_tz)
    return naive.replace(tzinfo=tzinfo).astimezone(UTC)


def _strptime(raw: str, fmt: str, tz: str, flags: list[str]) -> datetime:
    tries = [fmt.replace("%.f", ".%f"), fmt.replace("%.f", "")] if "%.f" in fmt else [fmt]
    for f in tries:
        try:
            dt = datetime.strptime(raw, f)
        except ValueError:
            continue
        if dt.tzinfo is None:
            if not any(c in f for c in ("%H", "%I")):
                flags.append("date_only")
                return datetime(dt.year, dt.month, dt.day, tzinfo=UTC)
            dt = dt.replace(tzinfo=_zone(tz))
        return dt.astimezone(UTC)
    raise ValueError("does not match format")


def parse_raw(raw: str, *, fmt: str | None = None, tz: str = "UTC") -> tuple[list[datetime], list[str]]:
    """Parse one raw date string; return ``(readings, flags)``.

    Two readings mean an ambiguous day/month order; no reading means unparsed or impossible (see flags).
    """
    flags: list[str] = []
    s = " ".join(raw.strip().split())
    if not s:
        return [], ["unparsed"]
    try:
        if fmt:
            try:
                return [_strptime(s, fmt, tz, flags)], flags
            except ImpossibleDate:
                raise
            except ValueError:
                pass  # fall through to the general forms: a malformed value may still be a plain date
        if m := _ISO.match(s):
            return [_build(m["y"], m["m"], m["d"], m, tz, flags)], flags
        if m := _NUMERIC.match(s):
            a, b = int(m["a"]), int(m["b"])
            if m["sep"] == "." or a > 12:  # dotted dates are day-first everywhere they are used
                return [_build(m["y"], b, a, m, tz, flags)], flags
            if b > 12:
                return [_build(m["y"], a, b, m, tz, flags)], flags
            if a == b:
                return [_build(m["y"], a, b, m, tz, flags)], flags
            readings = []
            for mo, d in ((b, a), (a, b)):  # day-first reading first
                f2: list[str] = []
                readings.append(_build(m["y"], mo, d, m, tz, f2))
            flags.extend(f2)
            flags.append("ambiguous_dmy")
            return readings, flags
        for rx in (_WORDY_DMY, _WORDY_MDY):
            if (m := rx.match(s)) and m["mon"].lower() in _MONTHS:
                return [_build(m["y"], _MONTHS[m["mon"].lower()], m["d"], m, tz, flags)], flags
        if re.match(r"[A-Za-z]{3},\s*\d{1,2}\s+[A-Za-z]{3}\s+\d{4}", s):
            dt = parsedate_to_datetime(s)
            if dt.tzinfo is None:
                flags.append("naive_time")
                dt = dt.replace(tzinfo=_zone(tz))
            return [dt.astimezone(UTC)], flags
    except ImpossibleDate:
        return [], flags + ["impossible"]
    except (ValueError, TypeError, OverflowError):
        pass
    return [], flags + ["unparsed"]


def url_date(url: str | None) -> Candidate | None:
    """A full Y/M/D in a URL path (``/2024/03/05/``, ``/20240305/``, ``/2024-03-05-slug``)."""
    if not url:
        return None
    path = re.sub(r"^[a-z]+://[^/]+", "", url, flags=re.I).split("?")[0]
    m = _URL_DATE.search(path) or _URL_DATE_SEP.search(path)
    return _ymd_candidate(m, m.group(0).strip("/-_.") if m else "", "url")


def file_name_date(rel_path: str) -> Candidate | None:
    """A Y-M-D in the file's name (not its directories: ``2024/`` folders are often ingest batches)."""
    name = rel_path.rsplit("/", 1)[-1]
    m = _FILE_DATE.search(name)
    return _ymd_candidate(m, m.group(0) if m else "", "file_name")


def _ymd_candidate(m: re.Match | None, raw: str, source: str) -> Candidate | None:
    """A candidate from a match with y/m/d groups; None when absent or not a calendar date."""
    if not m:
        return None
    try:
        d = date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        return None
    return Candidate(raw, source, value=d)


def _month_forms(d: date) -> list[str]:
    names = [k for k, v in _MONTHS.items() if v == d.month]
    return [f"{d.month:02d}", str(d.month), *names]


_NEAR_YEAR = 120  # every written form has the year within this many characters of the rest of the date


def _year_windows(low: str, y: str) -> list[tuple[int, int]]:
    """Merged spans of ``low`` around each occurrence of the year ``y`` (the only text a date form can use)."""
    spans: list[tuple[int, int]] = []
    i = low.find(y)
    while i >= 0:
        s, e = max(0, i - _NEAR_YEAR), i + len(y) + _NEAR_YEAR
        if spans and s <= spans[-1][1]:
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
        i = low.find(y, i + 1)
    return spans


def found_in(value: date, text: str) -> str | None:
    """Where ``value`` is written in ``text`` (year, month as number or English name, and day), or None."""
    low = text.lower()
    y = str(value.year)
    if y not in low:
        return None
    # searching whole pages costs tens of ms per pattern; only the text around the year can match
    spans = _year_windows(low, y) if len(low) > 4096 else [(0, len(low))]
    windows = [(s, low[s:e]) for s, e in spans]
    day = rf"0?{value.day}(?:st|nd|rd|th)?"
    for mo in _month_forms(value):
        mo_rx = re.escape(mo) if mo.isdigit() else mo + r"[a-z]*\.?"
        pats = (
            rf"{y}[-/.]0?{mo_rx}[-/.]{day}(?!\d)" if mo.isdigit() else rf"{mo_rx}\s+{day},?\s+{y}",
            rf"(?<!\d){day}[-/. ]+{mo_rx}[-/., ]+{y}",
            rf"(?<!\d){y}0?{mo}{value.day:02d}(?!\d)" if mo.isdigit() else r"(?!)",
            rf"(?<!\d){mo_rx}[-/.]{day}[-/.]{y}" if mo.isdigit() else r"(?!)",
        )
        for p in pats:
            rx = re.compile(p)
            for off, w in windows:
                if m := rx.search(w):
                    return text[off + m.start() : off + m.end()]
    return None


def _as_dt(v: date | datetime) -> datetime:
    if isinstance(v, datetime):
        return v.astimezone(UTC)
    return datetime(v.year, v.month, v.day, tzinfo=UTC)


def resolve(candidates: list[Candidate], *, now: datetime, verify_text: str | None = None) -> DateResult:
    """Choose the publication date among ``candidates`` by the precedence in the module docstring."""
    flags: list[str] = []
    order = {s: i for i, s in enumerate(SOURCES)}
    parsed: list[tuple[Candidate, list[datetime], bool, bool]] = []  # candidate, readings, date_only, naive_time
    for c in candidates:
        if c.value is not None:
            readings, cflags = [_as_dt(c.value)], ([] if isinstance(c.value, datetime) else ["date_only"])
            if c.verify:
                day = c.value.date() if isinstance(c.value, datetime) else c.value
                snippet = found_in(day, verify_text or c.raw)
                if snippet is None:
                    flags.append("not_in_raw")
                    continue
                c = Candidate(snippet, c.source, value=c.value)
        else:
            readings, cflags = parse_raw(c.raw, fmt=c.fmt, tz=c.tz)
        for f in cflags:
            if f not in ("date_only", "naive_time") and f not in flags:
                flags.append(f)
        good = []
        for r in readings:
            limit = now + (timedelta(days=1) if "date_only" in cflags else timedelta(minutes=15))
            if r > limit:
                flags.append("future")
            elif r.year < 1800:
                flags.append("too_old")
            else:
                good.append(r)
        if good:
            parsed.append((c, good, "date_only" in cflags, "naive_time" in cflags))
    # settle ambiguous readings by agreement with any other candidate
    settled = []
    for i, (c, readings, d_only, naive) in enumerate(parsed):
        if len(readings) > 1:
            others = [r for j, (_, rs, _, _) in enumerate(parsed) if j != i and len(rs) == 1 for r in rs]
            agree = [r for r in readings if any(abs(r - o) <= timedelta(days=1) for o in others)]
            if len(agree) != 1:
                continue
            readings = agree
        settled.append((c, readings[0], d_only, naive))
    if not settled:
        return DateResult(None, None, "none", tuple(dict.fromkeys(flags)))
    settled.sort(key=lambda t: order[t[0].source])  # stable: candidates keep their given order per source
    best = settled[0]
    url_c = next((t for t in settled if t[0].source == "url"), None)
    if url_c and best[0].source != "url" and abs(best[1] - url_c[1]) > timedelta(days=1, hours=14):
        flags.append("url_mismatch")
        if best[0].source in ("metadata", "text"):
            best = url_c
    c, dt, d_only, naive = best
    flags += ["date_only"] * d_only + ["naive_time"] * naive
    return DateResult(dt, c.raw, c.source, tuple(dict.fromkeys(flags)))

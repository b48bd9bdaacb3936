"""Per-language sentence rules: which word lists and conventions :func:`split_sentences` decides with.

English keeps the hand-written news lexicon (:mod:`pipeline.sentences.lexicon`). German and French differ
where it matters for boundaries: their abbreviations (``z. B.``, ``bzw.``, ``M. Dupont``, ``av. J.-C.``),
German ordinals written with a period (``am 3. Oktober``), the words that open sentences, and their
quotation marks (``„…“``, ``»…«``, ``« … »``). Any other language gets :data:`NEUTRAL`: rules that hold
across alphabetic scripts (initials and dotted forms never end a sentence before a capital, terminal
punctuation does) and no word lists, because a wrong lexicon is worse than none.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.sentences import lexicon as en

__all__ = ["LanguageRules", "NEUTRAL", "rules_for"]


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


@dataclass(frozen=True)
class LanguageRules:
    """Word lists and switches for one language (keys lower-case, without the final period).

    ``ordinal_dots``: a number followed by a period is an ordinal ("3. Oktober") and ends a sentence only
    before a sentence-initial word. ``lower_starts``: informal text starts sentences in lower case, so an
    ordinary word + ``.``/``?``/``!`` ends a sentence even before a lower-case word (English: web text,
    comments, chat). ``closers``: characters that close a quotation after terminal punctuation.
    """

    code: str
    titles: frozenset[str] = frozenset()
    street: frozenset[str] = frozenset()
    postnominal: frozenset[str] = frozenset()
    numeric: frozenset[str] = frozenset()
    generic: frozenset[str] = frozenset()
    months: frozenset[str] = frozenset()
    weekdays: frozenset[str] = frozenset()
    never_end: frozenset[str] = frozenset()
    continuation: frozenset[str] = frozenset()
    starters: frozenset[str] = frozenset()
    honorifics: frozenset[str] = frozenset()
    prepositions: frozenset[str] = frozenset()
    ordinal_next: frozenset[str] = frozenset()
    ordinal_dots: bool = False
    lower_starts: bool = False
    attribution: bool = False
    closers: str = ")]}\"'”’»`"


ENGLISH = LanguageRules(
    code="en",
    titles=en.TITLES,
    street=en.STREET,
    postnominal=en.POSTNOMINAL,
    numeric=en.NUMERIC,
    generic=en.GENERIC,
    months=en.MONTHS,
    weekdays=en.WEEKDAYS,
    never_end=en.NEVER_END,
    continuation=en.CONTINUATION,
    starters=en.STARTERS,
    honorifics=en.HONORIFICS,
    prepositions=en.PREPOSITIONS,
    lower_starts=True,
    attribution=True,
)

_DE_MONTHS = _words(
    "januar jänner februar märz april mai juni juli august september oktober november dezember "
    "jan feb mär apr jun jul aug sep sept okt nov dez"
)
GERMAN = LanguageRules(
    code="de",
    titles=_words("dr prof hr hrn fr frl st dipl ing mag"),
    street=_words("str"),
    postnominal=_words("gmbh ag kg co mbh e.v"),
    # Before a figure never an end: "Nr. 5", "S. 12", "Abs. 3", "Art. 1", "Bd. 2", "Tel. 030".
    numeric=_words("nr s abs art bd tel kap ziff fig abb tab"),
    generic=_words(
        """
        bzw ca evtl ggf inkl vgl usw etc bspw zb z.b u.a d.h z.t u.u o.ä s.o s.u i.d.r v.a u.v.m mio mrd tsd
        std min max jh jhd geb gest verh allg bes bzgl eigtl einschl erg gem hl insb jhs lt o.g sog urspr
        zzgl zit zt dt engl franz ehem
        """
    ),
    months=_words("jan feb mär apr jun jul aug sep sept okt nov dez"),
    weekdays=_words("mo di mi do fr sa so"),
    never_end=_words("z.b vgl bzw bzgl bspw"),
    # German capitalises every noun: only these open a sentence reliably after an abbreviation.
    starters=_words(
        """
        der die das den dem des ein eine einen einem einer eines er sie es wir ihr ich man dies diese dieser
        dieses jener jene aber und oder doch denn dann da so auch nun noch schon jedoch trotzdem deshalb
        daher deswegen zudem außerdem damit dabei dazu darum dort hier heute gestern morgen wenn als weil ob
        nachdem obwohl während seit bis im in am an auf aus bei mit nach von vor zu zum zur für gegen ohne
        um über unter wie was wer wo warum wann welche welcher welches kein keine keinen nicht nur mehr
        viele alle sein seine ihre unser unsere mein meine es ist sind war waren wird werden hat haben
        danach später zuvor inzwischen anschließend schließlich allerdings dennoch jetzt zuerst dafür
        """
    ),
    ordinal_next=_DE_MONTHS,
    ordinal_dots=True,
    closers=")]}\"'”’“‘«»`",
)

FRENCH = LanguageRules(
    code="fr",
    # "M. Dupont", "MM. Dupont et Durand", "Mme", "Mgr", "Me" (maître), "Pr", "St".
    titles=_words("m mm mme mmes mlle mlles mgr me pr dr st ste"),
    street=_words("av bd boul"),
    postnominal=_words("cie sa sarl"),
    numeric=_words("n no art p pp chap vol fig tél t"),
    generic=_words(
        """
        etc env ex cf c.-à-d apr av j.-c min max hab coll éd dir réf suiv vs cad p.ex c.a.d resp
        janv févr avr juil sept oct nov déc
        """
    ),
    months=_words("janv févr avr juil sept oct nov déc"),
    never_end=_words("cf vs ex p.ex"),
    starters=_words(
        """
        le la les l un une des du de ce cet cette ces il elle ils elles on nous vous je j tu mais et ou donc
        car puis ensuite alors pourtant cependant toutefois enfin ainsi aussi en dans pour par sur sous avec
        sans selon depuis après avant pendant lors quand si comme lorsque dès c ça cela ceci qui que quoi où
        pourquoi comment quel quelle quels quelles aucun aucune chaque plusieurs tous toutes tout
        """
    ),
    honorifics=_words("m mme mlle"),
    closers=")]}\"'”’»`",
)

NEUTRAL = LanguageRules(code="", titles=_words("dr prof st"))

_BY_CODE = {r.code: r for r in (ENGLISH, GERMAN, FRENCH)}


def rules_for(language: str | None) -> LanguageRules:
    """Rules for an ISO 639-1 code ("en", "de-AT" and "DE" work); :data:`NEUTRAL` for any other."""
    if not language:
        return NEUTRAL
    return _BY_CODE.get(language.strip().lower().replace("_", "-").split("-")[0], NEUTRAL)

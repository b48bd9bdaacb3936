"""Word lists for sentence segmentation, written by hand for English news.

Keys are lower-case, without the final period; dotted forms keep their inner dots (``u.s``). Each
abbreviation class answers one question: when ``<abbrev>. <Capitalised word>`` appears, is it a sentence end?

- ``TITLES`` precede a name and never end a sentence (``Gen. Smith``, ``Mr. Vinken``).
- ``POSTNOMINAL`` (company suffixes, states, Jr.) follow a name, so a capitalised word after them usually
  starts a new sentence, unless it continues the name or is a job title (``CBS Inc. President John Backe``).
- Everything else that is a known abbreviation (``U.S.``, initials, months, ``a.m.``, ``No.``) ends a sentence
  only before a word that is almost always sentence-initial when capitalised (``STARTERS``).
- ``NEVER_END`` always continue (``e.g.``, ``vs.``).
"""

from __future__ import annotations


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


# Honorifics and office titles written before a name.
TITLES = _words(
    """
    mr mrs ms messrs mmes mme mlle dr drs prof profs gen gens lt col maj capt cmdr cdr comdr adm sgt cpl pvt
    brig gov govs sen sens rep reps pres supt insp det rev revs fr msgr hon atty amb ald lieut spc cpt
    ft mt ste
    """
)

# Street names and "St." (Saint or Street): a name follows unless the next word starts a sentence.
STREET = _words("st ave av blvd rd hwy pkwy sq ln ct")

# Follow a name: company forms, US states and Canadian provinces, generational suffixes.
POSTNOMINAL = _words(
    """
    inc corp co cos ltd plc llc llp bros assn assoc mfg intl natl cie gmbh s.a n.v a.g b.v l.p s.p.a p.l.c
    l.l.c s.a.b pty
    jr sr esq
    ala ariz ark calif cal colo conn del fla ga ill ind kan kans ky la md mass mich minn miss mo mont neb nev
    okla ore pa penn tenn tex va vt wash wis wyo alta ont que sask nfld
    n.j n.y n.c n.d n.h n.m s.c s.d r.i w.va d.c b.c
    """
)

# Before a number they never end a sentence; before a capitalised word they behave like ordinary words.
NUMERIC = _words("no nos n° nº p pp vol vols fig figs ch chap sec secs art arts para tel ext op pg")

MONTHS = _words("jan feb mar apr jun jul aug sep sept oct nov dec")
# Sat., Sun. and Wed. are left out: as words ("Rising Sun.") they end sentences.
WEEKDAYS = _words("mon tue tues thu thur thurs fri")

# Other abbreviations that rarely end a sentence but may.  Units (pct, km, lbs) are left out: news writes
# them without a period, so "5 pct." is a sentence end.
GENERIC = _words(
    """
    a.m p.m e.u u.n u.k u.s u.s.a u.s.s.r approx ca c dept depts govt misc mgr mkt ref sq al eds trans repr
    univ inst div dist corr
    """
)

# Never end a sentence: what follows is always part of the same sentence.
NEVER_END = _words("e.g i.e cf viz vs v")

# Capitalised words that, after a post-nominal abbreviation, continue the name or give a job title.
CONTINUATION = _words(
    """
    chairman chairwoman chairmen president vice chief executive director directors officer treasurer
    secretary spokesman spokeswoman spokesperson analyst economist founder co-founder head ceo cfo coo cto
    general senior managing deputy board unit subsidiary division affiliate partner partners securities
    holdings group international capital america usa associates trust bank financial
    """
)

# Words that almost always begin a sentence when they are capitalised: determiners, pronouns,
# conjunctions, prepositions, auxiliaries, sentence adverbs.  "I" is left out (it is capitalised anywhere).
STARTERS = _words(
    """
    the a an this that these those some any each every no all both either neither many much most more few
    several such another other others
    he she it we they you his her its our their my your there here what who whom whose which whoever
    whatever nobody none nothing everyone everybody someone somebody something anyone anything everything
    one
    and but or nor so yet for because although though while whereas if unless when whenever where wherever
    once since until after before as how why whether
    in on at by from with without within to into onto over under above below among between through
    throughout during despite against along around about across beyond behind near off up down out like
    unlike upon toward towards via besides except amid according following including
    also still even just only now then today yesterday tomorrow however meanwhile moreover furthermore
    nevertheless nonetheless indeed instead otherwise thus therefore hence accordingly consequently likewise
    similarly finally first second third last next later earlier recently currently previously eventually
    perhaps maybe probably certainly clearly obviously apparently fortunately unfortunately sometimes often
    usually already again anyway overall altogether initially ultimately separately additionally elsewhere
    nearly almost not never too yes well thereafter afterward afterwards specifically
    is are was were be been being am do does did has have had can could will would shall should may might
    must let don't doesn't didn't isn't aren't wasn't weren't can't won't wouldn't shouldn't couldn't
    it's that's there's he's she's we're they're i'm i've i'd we've you're what's here's let's
    """
)

# Honorifics after which a new sentence about a person begins (``... Nielsen Co. Mr. Gillespie said``).
HONORIFICS = _words("mr mrs ms messrs mmes dr")

# Prepositions that open a fronted phrase of time or place ("At 5 a.m. Mr. Smith left."): a sentence does
# not end after two or three words that start with one of them.
PREPOSITIONS = _words("at by on in after before until till since from around about through during near as")

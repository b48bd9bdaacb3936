"""Language detection: the function-word fast path answers only where py3langid gives the same answer.

The paragraphs are written here for the test (no third-party text).
"""

import pytest

from pipeline.ingest import language

SAMPLES = {
    "en": (
        "The harbour council approved the new ferry timetable on Tuesday after a debate that lasted most of the "
        "evening. Members said that the changes would cut waiting times for residents who cross to the island "
        "every morning, and the port authority said it would publish the fares before the summer season. "
        "Critics argued that the budget was too small and that the vote had been rushed, but they were outvoted."
    ),
    "de": (
        "Der Stadtrat hat am Dienstag nach einer langen Debatte den neuen Fahrplan für die Fähre beschlossen. "
        "Die Mitglieder sagten, dass die Änderungen die Wartezeiten für die Bewohner der Insel verkürzen werden, "
        "und die Hafenbehörde will die Preise noch vor dem Beginn der Saison veröffentlichen. Kritiker meinen, "
        "das Budget sei zu klein und die Abstimmung sei überstürzt gewesen, aber sie wurden überstimmt."
    ),
    "fr": (
        "Le conseil municipal a approuvé mardi le nouvel horaire du bac après un débat qui a duré presque toute "
        "la soirée. Les élus ont dit que les changements réduiraient l'attente des habitants qui traversent vers "
        "l'île chaque matin, et l'autorité portuaire publiera les tarifs avant la saison d'été. Les critiques "
        "ont jugé le budget trop faible et le vote précipité, mais ils ont été mis en minorité."
    ),
    "es": (
        "El ayuntamiento aprobó el martes el nuevo horario del transbordador después de un debate que duró casi "
        "toda la tarde. Los concejales dijeron que los cambios reducirán la espera de los vecinos que cruzan a "
        "la isla cada mañana, y la autoridad portuaria publicará las tarifas antes de la temporada de verano. "
        "Los críticos dijeron que el presupuesto era pequeño y que la votación fue precipitada."
    ),
    "nl": (
        "De gemeenteraad heeft dinsdag na een lang debat de nieuwe dienstregeling van de veerboot goedgekeurd. "
        "De leden zeiden dat de wijzigingen de wachttijd verkorten voor de bewoners die elke ochtend naar het "
        "eiland varen, en de havenautoriteit zal de tarieven voor het zomerseizoen bekendmaken. Critici vonden "
        "het budget te klein en de stemming overhaast, maar zij werden overstemd."
    ),
    "da": (
        "Byrådet godkendte tirsdag den nye køreplan for færgen efter en lang debat, der varede det meste af "
        "aftenen. Medlemmerne sagde, at ændringerne vil afkorte ventetiden for de beboere, der hver morgen "
        "sejler til øen, og havnemyndigheden vil offentliggøre priserne før sommersæsonen. Kritikerne mente, "
        "at budgettet var for lille, og at afstemningen var forhastet, men de blev stemt ned."
    ),
}


def detector(text: str) -> str | None:
    lang, prob = language.identifier().classify(text[: language.SAMPLE_CHARS])
    return lang if prob >= 0.5 else None


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_detect_language_names_each_sample(lang):
    assert language.detect_language(SAMPLES[lang]) == lang


@pytest.mark.parametrize("lang", ["en", "de"])
def test_fast_path_answers_clear_english_and_german_as_the_detector_does(lang):
    assert language.clear_language(SAMPLES[lang]) == lang == detector(SAMPLES[lang])


@pytest.mark.parametrize("lang", ["fr", "es", "nl", "da"])
def test_fast_path_leaves_other_languages_to_the_detector(lang):
    assert language.clear_language(SAMPLES[lang]) is None


def test_fast_path_leaves_short_text_to_the_detector():
    short = " ".join(SAMPLES["en"].split()[: language.FAST_MIN_WORDS - 1])
    assert language.clear_language(short) is None
    assert language.clear_language(" ".join(SAMPLES["en"].split()[: language.FAST_MIN_WORDS + 5])) == "en"


def test_fast_path_leaves_mixed_text_to_the_detector():
    en, de = SAMPLES["en"].split(". "), SAMPLES["de"].split(". ")
    mixed = ". ".join(s for pair in zip(en, de, strict=False) for s in pair)
    assert language.clear_language(mixed) is None
    # a German page quoting one English sentence is still German, but it is the detector's call
    quoted = SAMPLES["de"] + " " + en[0] + "."
    assert language.clear_language(quoted) is None


def test_fast_path_leaves_tables_of_figures_to_the_detector():
    table = "\n".join(f"Net profit {i}.{i} mln vs {i + 1}.2 mln, revs {i * 7} mln vs {i * 6} mln" for i in range(12))
    assert language.clear_language(table) is None


def test_only_the_start_of_the_text_decides():
    text = SAMPLES["en"] * 8 + " " + SAMPLES["de"] * 8  # the German half starts after SAMPLE_CHARS
    assert len(SAMPLES["en"] * 8) > language.SAMPLE_CHARS
    assert language.detect_language(text) == "en"

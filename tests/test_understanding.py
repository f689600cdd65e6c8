"""Query understanding: places, years, producers and formats found in free French text, with the
real COG gazetteer (../shared/data/geo) and the sample's producers."""

from __future__ import annotations

from datetime import date

import pytest

from models.serve.understanding import (
    OPEN_START,
    UnderstandingContext,
    gazetteer_from_entities,
    understand,
)
from tests.conftest import SHARED

GEO = SHARED / "geo"
AS_OF = date(2026, 1, 16)  # the export date of the shared catalogue


@pytest.fixture(scope="module")
def gazetteer():
    from models.core.geo import Gazetteer

    assert (GEO / "communes.json").exists(), f"missing shared data: {GEO}"
    return Gazetteer.load(GEO)


@pytest.fixture(scope="module")
def ctx(gazetteer, sample_path):
    from models.pipeline.ingest import read_catalog
    from models.pipeline.producers import aggregate_producers

    df, _ = read_catalog(sample_path)
    prod, _, _ = aggregate_producers(df)
    return UnderstandingContext.build(
        gazetteer=gazetteer, as_of=AS_OF,
        producers=zip(prod["producer_id"], prod["organization"], prod["n_active"], strict=True))


def slots(u, kind):
    return [s for s in u.slots if s.kind == kind]


def test_place_year_format_and_topic(ctx):
    q = "piscines à Toulouse depuis 2020 en CSV"
    u = understand(q, ctx)
    (t,), (p,), (f,) = slots(u, "territory"), slots(u, "period"), slots(u, "format")
    assert t.value == ("commune", "31555") and t.label == "Toulouse (commune)"
    assert q[t.span[0]:t.span[1]] == "Toulouse" and not t.ambiguous
    assert p.value == (2020, AS_OF.year) and p.label == "depuis 2020"
    assert f.value == "csv" and q[f.span[0]:f.span[1]] == "CSV"
    assert u.topic_text == "piscines"


@pytest.mark.parametrize("query, value", [
    ("piscines toulouse", ("commune", "31555")),  # lower case, no preposition
    ("qualité de l'air à Lyon", ("commune", "69123")),
    ("population de Tours", ("commune", "37261")),
    ("budget de la Haute-Garonne", ("departement", "31")),
    ("formations pas de calais", ("departement", "62")),
    ("Toulouse Métropole", ("epci", "243100518")),
    ("marchés publics Bretagne", ("region", "53")),
    ("Marseille 13e", ("commune", "13213")),
    ("commune d'Orange", ("commune", "84087")),  # a French word, with a level cue
    ("accidents de la route en France", ("pays", "FR")),
])
def test_real_places(ctx, query, value):
    ts = slots(understand(query, ctx), "territory")
    assert [t.value for t in ts] == [value], query


def test_homonyms_are_candidates_until_context_settles_them(ctx):
    (t,) = slots(understand("Saint-Denis", ctx), "territory")
    assert t.ambiguous and t.confidence <= 0.5
    codes = {c.value for c in t.candidates}
    assert {("commune", "93066"), ("commune", "97411")} <= codes and len(codes) >= 3
    assert all("Saint-Denis (commune, " in c.label for c in t.candidates)  # says which
    (t93,) = slots(understand("budget Saint-Denis 93", ctx), "territory")
    assert t93.value == ("commune", "93066") and not t93.ambiguous and t93.text == "Saint-Denis 93"
    t974 = slots(understand("Saint-Denis La Réunion", ctx), "territory")
    assert t974[0].value == ("commune", "97411") and not t974[0].ambiguous


def test_paris_is_one_territory(ctx):
    (t,) = slots(understand("Paris", ctx), "territory")
    assert t.value == ("commune", "75056") and not t.ambiguous


@pytest.mark.parametrize("query", ["prix du gaz en mars", "bar", "rue de Paris", "Où sont les musées ?",
                                   "plan local d'urbanisme", "le prix de l'eau"])
def test_common_words_and_streets_are_no_places(ctx, query):
    assert slots(understand(query, ctx), "territory") == []


@pytest.mark.parametrize("query, value, field", [
    ("accidents 2020", (2020, 2020), "coverage"),
    ("entre 2018 et 2022", (2018, 2022), "coverage"),
    ("budget 2018-2022", (2018, 2022), "coverage"),
    ("depuis 2020", (2020, AS_OF.year), "coverage"),
    ("après 2019", (2020, AS_OF.year), "coverage"),
    ("avant 2015", (OPEN_START, 2014), "coverage"),
    ("cette année", (AS_OF.year, AS_OF.year), "modified"),
    ("l'an dernier", (AS_OF.year - 1, AS_OF.year - 1), "coverage"),
    ("les 5 dernières années", (AS_OF.year - 4, AS_OF.year), "modified"),
    ("données récentes", (AS_OF.year - 1, AS_OF.year), "modified"),
    ("jeux publiés en 2021", (2021, 2021), "created"),
    ("mis à jour depuis 2024", (2024, AS_OF.year), "modified"),
])
def test_periods_against_the_export_date(ctx, query, value, field):
    (p,) = slots(understand(query, ctx), "period")
    assert (p.value, p.field) == (value, field)


def test_periods_follow_the_export_date_not_the_clock(gazetteer):
    old = UnderstandingContext.build(gazetteer=gazetteer, as_of="2019-06-30")
    (p,) = slots(understand("données récentes", old), "period")
    assert p.value == (2018, 2019)
    assert slots(understand("code postal 31555 et 12345", old), "period") == []


def test_producers_by_name_and_acronym(ctx):
    (p,) = slots(understand("données de l'Office Français de la Biodiversité", ctx), "producer")
    assert p.label == "Office Français de la Biodiversité" and not p.ambiguous
    (s,) = slots(understand("Liste gares SNCF", ctx), "producer")
    assert s.label == "SNCF" and s.text == "SNCF"
    u = understand("DREAL Grand Est", ctx)
    assert [x.label for x in slots(u, "producer")] == ["DREAL Grand Est"]
    assert [x.value for x in slots(u, "territory")] == [("region", "44")]


@pytest.mark.parametrize("query, fam", [("au format shapefile", "shp"), ("fichier Excel", "xls"),
                                        ("GeoJSON des pistes cyclables", "geojson"),
                                        ("une API", "api"), ("export xlsx", "xls")])
def test_formats(ctx, query, fam):
    assert [f.value for f in slots(understand(query, ctx), "format")] == [fam]


def test_removing_a_slot_gives_its_words_back(ctx):
    u = understand("piscines à Toulouse en 2021", ctx)
    t = slots(u, "territory")[0]
    v = u.without([t.key])
    assert [s.kind for s in v.slots] == ["period"] and "Toulouse" in v.topic_text
    assert u.as_dict()["slots"][0]["key"] == "territory:commune:31555"


@pytest.mark.parametrize("query", [None, "", "   ", "<script>alert(1)</script> Toulouse",
                                   "x" * 10_000, "Toulouse " * 2_000, "\x00\x1f 2020 \u202e",
                                   "9999 0000 1899"])
def test_odd_input_never_raises(ctx, query):
    u = understand(query, ctx)
    assert isinstance(u.topic_text, str)
    for s in u.slots:
        assert 0 <= s.span[0] < s.span[1] <= len(u.text)
        assert u.text[s.span[0]:s.span[1]] == s.text
    if query and "9999" in query:
        assert u.slots == ()


def test_gazetteer_rebuilt_from_the_build_entities(gazetteer):
    from models.pipeline.territories import entity_frame

    g = gazetteer_from_entities(entity_frame(gazetteer))
    c = UnderstandingContext.build(gazetteer=g, as_of=AS_OF)
    assert [t.value for t in slots(understand("piscines Toulouse", c), "territory")] == [("commune", "31555")]


def test_explorer_understands_with_its_build(explorer):
    u = explorer.engine.understand("piscines à Toulouse depuis 2020")
    assert ("commune", "31555") in [s.value for s in u.territories]
    # the fixture build's export date is the newest last_modified of its 200 rows
    assert u.period() == (2020, explorer.records.export_date.year)

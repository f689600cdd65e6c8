"""Territories: gazetteer matching, ambiguity rules, the evaluation, the service and the page."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from models.core.geo import COLUMNS, Gazetteer, norm_name
from models.pipeline.territories import evaluate, extract_frame, resolve_declared
from tests.conftest import SAMPLE, SHARED
from tests.uihelpers import call

GEO = SHARED / "geo"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    assert GEO.exists(), f"missing shared data: {GEO}"
    return Gazetteer.load(GEO)


def found(gaz, title="", description="", tags=(), organization="", min_confidence=0.5) -> dict:
    """{(level, code): record} extracted from one dataset."""
    df = pd.DataFrame({"title": [title], "description_text": [description], "tags": [list(tags)],
                       "organization": [organization]})
    t = extract_frame(df, gaz)
    t = t[t["confidence"] >= min_confidence]
    return {(r.level, r.code): r for r in t.itertuples()}


def commune(gaz, name: str, dept: str) -> str:
    return next(e.code for e in gaz.lookup(name) if e.level == "commune" and dept in e.departements)


# ---- normalisation and names -----------------------------------------------------------------
def test_normalisation_accents_saint_hyphens_apostrophes():
    assert norm_name("Saint-Étienne") == norm_name("ST ETIENNE") == norm_name("st-etienne") == "saint etienne"
    assert norm_name("Sainte-Maxime") == norm_name("Ste Maxime") == "sainte maxime"
    assert norm_name("L’Haÿ-les-Roses") == norm_name("L'Hay les Roses") == "l hay les roses"
    assert norm_name("Paris 15ème") == norm_name("Paris 15e") == "paris 15e"
    assert norm_name("Cœuvres-et-Valsery") == "coeuvres et valsery"


def test_lookup_variants(gaz):
    assert [e.code for e in gaz.lookup("St-Malo")] == ["35288"]
    assert [e.code for e in gaz.lookup("Ste Maxime")] == ["83115"]
    assert [e.code for e in gaz.lookup("du Havre")] == ["76351"]  # "Ville du Havre"
    official = gaz.lookup("Sailly-lez-Lannoy")
    assert len(official) == 1 and gaz.lookup("Sailly-lès-Lannoy") == official
    assert [e.code for e in gaz.lookup("15e arrondissement de Paris")] == ["75115"]
    assert [e.code for e in gaz.lookup("Lyon 3ème")] == ["69383"]
    assert [e.code for e in gaz.lookup("Marseille 1er")] == ["13201"]
    assert gaz.lookup("Les") == [] and gaz.lookup("de la") == []  # link words alone are no name
    # EPCI: the legal form is optional, the spelled-out one works too
    brest = gaz.lookup("Brest Métropole")
    assert [(e.level, e.code) for e in brest] == [("epci", "242900314")]
    assert gaz.lookup("Lisieux Normandie")[0].level == "epci"
    assert gaz.lookup("Communauté d'agglomération Lisieux Normandie")[0].level == "epci"


def test_hierarchy(gaz):
    brest = gaz.get("commune", "29019")
    around = [(e.level, e.code) for e in gaz.enclosing(brest)]
    assert around == [("epci", "242900314"), ("departement", "29"), ("region", "53"), ("pays", "FR")]
    paris15 = gaz.get("commune", "75115")
    assert ("commune", "75056") in [(e.level, e.code) for e in gaz.enclosing(paris15)]
    assert gaz.canonical(("region", "01")) == ("departement", "971")  # Guadeloupe: one territory
    assert gaz.dept_units(("commune", "29019")) == {"29"}
    assert gaz.dept_units(("region", "53")) == {"region:53"}
    assert gaz.dept_units(("region", "01")) == {"971"}


# ---- extraction: what is found -----------------------------------------------------------------
def test_accents_saint_hyphens_and_apostrophes_in_text(gaz):
    f = found(gaz, title="Arbres de SAINT ETIENNE et de St-Malo",
              description="Relevés à L'Hay les Roses et à Sainte Maxime.")
    for code in ("42218", "35288", "94038", "83115"):
        assert ("commune", code) in f, code
    assert f[("commune", "42218")].source == "title"
    assert f[("commune", "94038")].source == "description"


def test_municipal_arrondissements(gaz):
    f = found(gaz, title="Bruit dans le 15ème arrondissement de Paris, à Lyon 3e et à Marseille 1er")
    assert {("commune", "75115"), ("commune", "69383"), ("commune", "13201")} <= set(f)


def test_epci_region_former_region_and_france(gaz):
    f = found(gaz, title="Vélos de Brest Métropole")
    assert ("epci", "242900314") in f
    f = found(gaz, title="Lycées de Rhône-Alpes")
    assert ("region", "84") in f  # a former région counts as the current one
    f = found(gaz, title="Accidents de la route", description="Données pour toute la France.")
    assert ("pays", "FR") in f


def test_tags_match_as_whole_tags(gaz):
    f = found(gaz, title="Qualité de l'air", tags=["brest", "pollution", "orange"])
    assert ("commune", "29019") in f and f[("commune", "29019")].source == "tags"
    assert ("commune", "84087") not in f  # a common word without context


def test_a_name_after_an_article_is_not_a_commune_without_one(gaz):
    """« la Saône » (the river), « de la Ville de Toulon », « mer des Pertuis »: a commune whose
    name has no article (Saône, Ville, Pertuis) is not what an article introduces; a name that
    holds its article (La Rochelle) still is."""
    saone, ville = commune(gaz, "Saône", "25"), commune(gaz, "Ville", "60")
    pertuis = commune(gaz, "Pertuis", "84")
    f = found(gaz, title="Zones réglementées du PPRN de la Saône",
              organization="Direction Départementale des Territoires de Haute-Saône")
    assert ("commune", saone) not in f and ("departement", "70") in f
    f = found(gaz, title="Actes du Conseil Municipal de la Ville de Toulon")
    assert ("commune", ville) not in f and ("commune", commune(gaz, "Toulon", "83")) in f
    f = found(gaz, title="Habitats du Parc naturel marin de la mer des Pertuis")
    assert ("commune", pertuis) not in f
    assert ("commune", pertuis) in found(gaz, title="Marché de Pertuis", organization="Mairie de Pertuis")
    assert ("commune", commune(gaz, "La Rochelle", "17")) in found(gaz, title="Piscines de La Rochelle")


def test_a_common_word_tag_is_not_a_village(gaz):
    """The tag « plan » of a DDT de l'Isère dataset is the word, not Plan (Isère, 300
    inhabitants), though the producer places it in the right département."""
    f = found(gaz, title="Plan local d'urbanisme", tags=["plan", "urbanisme"], organization="DDT de l'Isère")
    assert ("commune", commune(gaz, "Plan", "38")) not in f and ("departement", "38") in f
    # a tag of several words is a name, even made of common ones (Le Cendre, Puy-de-Dôme)
    f = found(gaz, title="Relevés LiDAR", tags=["le-cendre", "lidar"],
              organization="Clermont Auvergne Métropole")
    assert ("commune", commune(gaz, "Le Cendre", "63")) in f


def test_producer_location_and_national_producers(gaz):
    f = found(gaz, title="Budget primitif 2024", organization="Ville de Brest")
    assert f[("commune", "29019")].source == "organization"
    f = found(gaz, title="Résultats des élections", organization="Ministère de l'Intérieur")
    assert set(f) == {("pays", "FR")} and f[("pays", "FR")].source == "organization"
    f = found(gaz, title="Prévisions", organization="Météo-France")  # glued: no country, no place
    assert ("pays", "FR") in f  # ... but a national producer name


# ---- extraction: ambiguity ------------------------------------------------------------------------
def test_common_word_communes_need_context(gaz):
    text = ("La couleur orange, le bar et la pression en bar ; il a eu lieu en mars ou en sept jours. "
            "Axe Y, données EU. Réseaux Orange et SFR. Mars 2024. Sept communes. Vaux et vallons.")
    f = found(gaz, title="Antennes relais", description=text)
    names = {r.name for r in f.values()}
    for word in ("Orange", "Bar", "Eu", "Y", "Mars", "Sept", "Vaux"):
        assert word not in names, word
    # ... unless the context says where: the département of Orange (84) is named
    f = found(gaz, title="Antennes relais de la commune d'Orange (84)")
    assert ("commune", "84087") in f


def test_homonyms_resolved_by_context(gaz):
    # Saint-Denis: Seine-Saint-Denis or La Réunion
    f = found(gaz, title="Marchés de Saint-Denis", organization="Département de La Réunion")
    assert ("commune", "97411") in f and ("commune", "93066") not in f
    f = found(gaz, title="Marchés de Saint-Denis (93)")
    assert ("commune", "93066") in f and ("commune", "97411") not in f
    f = found(gaz, title="Marchés de Saint-Denis",
              organization="Département de la Seine-Saint-Denis")
    assert ("commune", "93066") in f
    # without any context, two large homonyms stay unresolved rather than guessed
    f = found(gaz, title="Marchés de Saint-Denis")
    assert ("commune", "93066") not in f and ("commune", "97411") not in f


def test_homonyms_resolved_by_population_or_postcode(gaz):
    big = commune(gaz, "Montreuil", "93")  # 110,000 inhabitants; Montreuil (85): 800
    small = commune(gaz, "Montreuil", "85")
    f = found(gaz, title="Piscines de Montreuil")  # far more populous: chosen, less confident
    assert ("commune", big) in f and f[("commune", big)].confidence < 0.9
    f = found(gaz, title="Église de Montreuil", description="Montreuil, en Vendée.")
    assert ("commune", small) in f and ("commune", big) not in f
    postcode = gaz.get("commune", small).postcodes[0]
    f = found(gaz, title=f"Mairie, {postcode} Montreuil")
    assert ("commune", small) in f and ("commune", big) not in f


def test_streets_compounds_and_foreign_contexts_are_not_places(gaz):
    f = found(gaz, title="Travaux rue de Paris à Lyon",
              description="Horaires de la gare de Lyon. Festival de Juan-les-Pins. Prévisions Météo-France.")
    assert ("commune", "69123") in f
    assert ("commune", "75056") not in f
    assert not [r for r in f.values() if r.name == "Les Pins"]
    f = found(gaz, title="Inondations du bassin du Sor")
    assert not [r for r in f.values() if r.name == "Sor"]


def test_enumerations_across_the_country_mean_france(gaz):
    f = found(gaz, title="Stations de mesure",
              description="Stations de Brest, de Lyon, de Marseille, de Lille et de Strasbourg.")
    assert ("pays", "FR") in f
    assert ("commune", "29019") not in f  # demoted below the threshold ...
    everything = found(gaz, title="Stations de mesure", min_confidence=0.3,
                       description="Stations de Brest, de Lyon, de Marseille, de Lille et de Strasbourg.")
    assert ("commune", "29019") in everything  # ... but kept in the table


def test_smaller_territory_wins_over_the_one_that_frames_it(gaz):
    f = found(gaz, title="Collèges du Havre", tags=["normandie"], organization="Ville du Havre")
    assert ("commune", "76351") in f
    assert ("region", "28") not in f


def test_extract_frame_schema(gaz):
    df = pd.DataFrame({"title": ["Brest", "Rien", "Finistère"], "description_text": ["", "", ""],
                       "tags": [[], [], []], "organization": ["", "", ""]})
    t = extract_frame(df, gaz)
    assert list(t.columns) == COLUMNS
    assert set(t["row"]) == {0, 2}
    assert t["confidence"].between(0, 1).all()
    assert set(t["source"]) <= {"title", "description", "tags", "organization"}
    assert set(t["level"]) <= {"commune", "epci", "departement", "region", "pays"}


# ---- declared zones and the evaluation -------------------------------------------------------------
def test_resolve_declared(gaz):
    assert resolve_declared(gaz, "Le Havre")[0] == {("commune", "76351")}
    assert resolve_declared(gaz, "Finistère")[0] == {("departement", "29")}
    assert resolve_declared(gaz, "Métropole de Lyon")[0] == {("epci", "200046977")}
    assert resolve_declared(gaz, "France")[0] == {("pays", "FR")}
    assert resolve_declared(gaz, "Guadeloupe", "fr:region")[0] == {("departement", "971")}
    decl, unresolved = resolve_declared(gaz, "Monde,Union Européenne")
    assert decl == set() and unresolved == ["Monde", "Union Européenne"]
    # a comma inside an EPCI name
    decl, unresolved = resolve_declared(gaz, "CA de Béthune-Bruay, Artois-Lys Romane")
    assert unresolved == [] and [lv for lv, _ in decl] == ["epci"]
    # homonyms: the co-declared zones say which Saint-Jean
    decl, _ = resolve_declared(gaz, "Balma,Blagnac,Saint-Jean,Toulouse", "fr:commune")
    assert ("commune", commune(gaz, "Saint-Jean", "31")) in decl


def test_evaluation_definitions(gaz):
    df = pd.DataFrame({"spatial_zones": ["Brest", "Finistère", "Monde", "", "Bretagne"],
                       "spatial_granularity": ["fr:commune", "fr:departement", "", "", "fr:region"],
                       "organization": [""] * 5})
    terr = pd.DataFrame({"row": [0, 1, 3, 4], "level": ["commune", "commune", "pays", "departement"],
                         "code": ["29019", "29019", "FR", "29"], "name": ["Brest", "Brest", "France", "F"],
                         "confidence": [0.9, 0.9, 0.9, 0.9], "source": ["title"] * 4})
    r = evaluate(df, terr, gaz)
    # rows 0, 1 and 4 declare a COG zone ("Monde" is not one)
    assert r["entity"]["n"] == r["departement"]["n"] == 3
    # entity level: row 0 right, row 1 wrong (Brest is not Finistère), row 4 wrong
    assert r["entity"]["precision"] == pytest.approx(1 / 3, abs=1e-3)
    # département level: Brest lies in Finistère; a département does not match its région
    assert r["departement"]["precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert r["departement"]["recall"] == pytest.approx(2 / 3, abs=1e-3)
    assert r["coverage"] == {"declared": 0.8, "extracted": 0.8, "n_datasets": 5, "declared_resolved": 3}


def _check_report_schema(report: dict) -> None:
    for level in ("departement", "entity"):
        assert set(report[level]) >= {"precision", "recall", "n"}
        assert 0 <= report[level]["precision"] <= 1 and 0 <= report[level]["recall"] <= 1
        assert isinstance(report[level]["n"], int) and report[level]["n"] > 0
    assert set(report["coverage"]) >= {"declared", "extracted"}
    assert 0 <= report["coverage"]["declared"] <= report["coverage"]["extracted"] <= 1


def test_cli_evaluates_a_catalogue(capsys):
    from models.cli import main

    assert main(["territories", "--catalog", str(SAMPLE), "--limit", "400", "--geo", str(GEO),
                 "--evaluate", "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    _check_report_schema(report)
    assert report["coverage"]["n_datasets"] == 400


def test_cli_evaluates_a_build(built_root, capsys):
    from models.cli import main

    assert main(["territories", "--artifacts", str(built_root), "--geo", str(GEO), "--evaluate",
                 "--json"]) == 0
    _check_report_schema(json.loads(capsys.readouterr().out))
    assert main(["territories", "--artifacts", str(built_root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["datasets_with_territory"] > 0 and sum(summary["by_level"].values()) > 0


# ---- the pipeline step -----------------------------------------------------------------------------
def test_step_output_in_the_build(built_root):
    from models.core.store import load_artifacts

    arts = load_artifacts(built_root)
    t = arts.parquet("territories.parquet")
    assert list(t.columns) == COLUMNS
    assert t["row"].between(0, arts.n - 1).all()
    assert arts.has("territory_entities.parquet") and arts.has("geo_departements.json")
    assert arts.manifest["parameters"]["territories"]["gazetteer"] is True
    assert "territories" in arts.manifest["steps"]


def test_step_without_gazetteer_writes_an_empty_table(tmp_path, caplog):
    from models.core.config import BuildSettings
    from models.pipeline.steps import BuildContext
    from models.pipeline.territories import build_territories
    from models.pipeline.writer import BuildWriter

    writer = BuildWriter(tmp_path)
    ctx = BuildContext(settings=BuildSettings(geo_dir=str(tmp_path / "missing"), show_progress=False),
                       writer=writer)
    ctx.df = pd.DataFrame({"title": ["Brest"], "description_text": [""], "tags": [[]],
                           "organization": [""], "spatial_zones": [""], "spatial_granularity": [""]})
    with caplog.at_level(logging.WARNING, logger="models.pipeline.territories"):
        build_territories(ctx)
    assert "no gazetteer" in caplog.text
    t = pd.read_parquet(writer.dir / "territories.parquet")
    assert list(t.columns) == COLUMNS and t.empty
    assert ctx.manifest["parameters"]["territories"]["gazetteer"] is False
    writer.abort()


def test_default_gazetteer_folder_is_configurable(monkeypatch):
    from models.core.config import DEFAULT_GEO, BuildSettings

    assert Path(BuildSettings().geo_dir) == DEFAULT_GEO
    assert DEFAULT_GEO.parts[-3:] == ("shared", "data", "geo")
    monkeypatch.setenv("EXPLORER_GEO", "/somewhere/else")
    assert BuildSettings().geo_dir == "/somewhere/else"


# ---- the service ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def service(explorer):
    return explorer.territories


@pytest.fixture(scope="module")
def named(service) -> str:
    """A commune named by at least one dataset of the small build."""
    ents = service.entities
    communes = ents[(ents["level"] == "commune") & (ents["n_direct"] > 0) & (ents["epci"] != "")]
    assert len(communes), "the small build names no commune"
    return communes.sort_values("n_direct", ascending=False)["key"].iloc[0]


def test_service_options_and_hierarchy(service, named):
    assert service.available
    e = service.entity(named)
    opts = service.options(e["name"][:5])
    assert opts and all(set(o) == {"label", "value"} for o in opts)
    assert named in [o["value"] for o in service.options(e["name"])]
    assert service.options(e["name"])[0]["label"].startswith(e["name"])
    around = service.enclosing(named)
    assert f"departement:{e['departements'][0]}" in around and f"region:{e['region']}" in around
    assert service.options("zzzz introuvable") == []
    assert service.entity("nonsense") is None and service.entity("commune:00000") is None


def test_service_datasets_with_enclosing_and_contained_levels(service, named):
    own = service.datasets(named)
    assert len(own) == service.entity(named)["n_direct"] and own["own"].all()
    wider = service.datasets(named, enclosing=True)
    assert set(own["row"]) <= set(wider["row"])
    assert list(wider["own"]) == sorted(wider["own"], reverse=True)  # its own datasets first
    dept = f"departement:{service.entity(named)['departements'][0]}"
    inside = service.datasets(dept, contained=True)
    assert set(own["row"]) <= set(inside["row"])
    assert set(service.rows(named, enclosing=True)) == set(wider["row"])


def test_service_map_counts(service, named):
    counts = service.counts("departement")
    assert len(counts) == 109  # every COG département, overseas included
    assert (counts["n"] >= counts["n_direct"]).all()
    dept = service.entity(named)["departements"][0]
    assert int(counts.loc[counts["code"] == dept, "n"].iloc[0]) >= service.entity(named)["n_direct"]
    data = service.map_data("departement")
    assert len(data["on_map"]) == 96  # metropolitan outlines
    assert "971" in set(data["off_map"]["code"])
    regions = service.map_data("region")
    assert len(regions["on_map"]) == 13
    with pytest.raises(ValueError):
        service.counts("commune")


def test_service_without_territories(explorer):
    from types import SimpleNamespace

    from models.serve.territories import TerritoryService

    arts = SimpleNamespace(has=lambda name: False, dir=Path("."), datasets=explorer.datasets)
    svc = TerritoryService(arts)
    assert not svc.available
    assert svc.options("Brest") == [] and svc.counts("departement").empty


# ---- the page -----------------------------------------------------------------------------------------
def test_builders_empty_states():
    from components import territories_page as tp

    fig = tp.visualize_choropleth(None, [], [], [])
    assert fig.layout.meta["empty"] is True
    fig = tp.visualize_choropleth({"type": "FeatureCollection", "features": [{}]}, ["29"], ["Finistère"], [0])
    assert fig.layout.meta["empty"] is True
    page = tp.build_territories_page(available=False)
    assert "n'ont pas été extraits" in json.dumps(page.to_plotly_json(), default=str, ensure_ascii=False)
    assert "Choisissez" in str(tp.datasets_table([], 0).to_plotly_json())


def test_choropleth_figure(service):
    from components import territories_page as tp

    data = service.map_data("departement")
    on = data["on_map"]
    fig = tp.visualize_choropleth(data["geojson"], on["code"].tolist(), on["name"].tolist(),
                                  on["n"].tolist(), on["n_direct"].tolist(),
                                  values=[f"departement:{c}" for c in on["entity"]], selected=["29"])
    assert fig.layout.meta["empty"] is False
    assert list(fig.data[0].locations) == on["code"].tolist()
    assert list(fig.data[1].locations) == ["29"]  # the selection's outline


def test_callbacks_through_the_flask_client(app, client, service, named):
    from components import ids
    from components import territories_page as tp

    e = service.entity(named)
    out = call(app, client, f"{tp.SEARCH}.options",
                {f"{tp.SEARCH}.search_value": e["name"], f"{tp.SEARCH}.value": None})
    assert named in [o["value"] for o in out[tp.SEARCH]["options"]]

    out = call(app, client, f"{tp.DATASETS}.children",
               {f"{tp.SEARCH}.value": named, f"{tp.OPTIONS}.value": []})
    highlight = out[ids.MAP_HIGHLIGHT]["data"]
    assert highlight["label"] == e["name"]
    assert sorted(highlight["rows"]) == sorted(int(r) for r in service.datasets(named)["row"])
    assert out[tp.SHOW_ON_MAP]["disabled"] is False
    listed = json.dumps(out[tp.DATASETS]["children"], ensure_ascii=False)
    first_title = service.datasets(named)["title"].iloc[0]
    assert json.dumps(first_title, ensure_ascii=False)[1:40] in listed

    out = call(app, client, f"{tp.DATASETS}.children", {f"{tp.SEARCH}.value": named,
                                                  f"{tp.OPTIONS}.value": [tp.ENCLOSING]})
    assert set(out[ids.MAP_HIGHLIGHT]["data"]["rows"]) == set(service.rows(named, enclosing=True))

    out = call(app, client, f"{tp.CHOROPLETH}.figure",
               {f"{tp.LEVEL}.value": "region", f"{tp.SEARCH}.value": named})
    fig = out[tp.CHOROPLETH]["figure"]
    assert len(fig["data"]) == 2 and fig["data"][1]["locations"] == [e["region"]]

    click = {"points": [{"customdata": f"departement:{e['departements'][0]}"}]}
    out = call(app, client, f"{tp.SEARCH}.value", {f"{tp.CHOROPLETH}.clickData": click})
    assert out[tp.SEARCH]["value"] == f"departement:{e['departements'][0]}"

    out = call(app, client, f"{ids.TABS}.active_tab", {f"{tp.SHOW_ON_MAP}.n_clicks": 1},
                state={f"{tp.SEARCH}.value": named, f"{tp.OPTIONS}.value": []})
    assert out[ids.TABS]["active_tab"] == "carte"


@pytest.mark.browser
def test_territories_page_in_browser(dash_duo, app, service, named):
    from selenium.webdriver.common.by import By

    from components import ids
    from components import territories_page as tp

    e = service.entity(named)
    dash_duo.start_server(app)
    dash_duo.wait_for_element(f"#{ids.TABS}")
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip() == "Territoires")
    tab.click()
    dash_duo.wait_for_element(f"#{tp.CHOROPLETH} .js-plotly-plot", timeout=30)
    dash_duo.wait_for_element(f"#{tp.SEARCH}").click()
    box = dash_duo.wait_for_element(".dash-dropdown-content input.dash-dropdown-search")
    box.send_keys(e["name"])
    dash_duo.wait_for_contains_text(".dash-dropdown-content", e["name"], timeout=10)
    option = next(o for o in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".dash-dropdown-option")
                  if o.text.startswith(e["name"] + " (commune"))
    option.click()
    dash_duo.wait_for_contains_text(f"#{tp.SUMMARY}", e["name"], timeout=20)
    # its datasets: one grid (20 a page), the first one named first, the count stated
    listing = service.datasets(named)
    first = f"#{tp.DATASETS} .ag-row[row-index='0'] .producers-list-title"
    dash_duo.wait_for_contains_text(first, str(listing["title"].iat[0])[:25], timeout=20)
    rows = dash_duo.find_elements(f"#{tp.DATASETS} .ag-center-cols-container .ag-row")
    assert len(rows) == min(len(listing), 20)
    note = dash_duo.find_element(f"#{tp.DATASETS} .text-muted").text
    assert ("Les 200 premiers sur" in note) if len(listing) > 200 else note.startswith(f"{len(listing)} jeu")
    # a click on a title opens its card on the map page; then back to this page
    cell = dash_duo.find_element(first)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                                   cell)
    dash_duo.wait_for_contains_text(f"#{ids.TABS} .nav-link.active", "Carte", timeout=10)
    dash_duo.wait_for_contains_text(f"#{ids.DETAILS}", str(listing["title"].iat[0])[:25], timeout=20)
    tab = next(a for a in dash_duo.driver.find_elements(By.CSS_SELECTOR, ".nav-link")
               if a.text.strip() == "Territoires")
    dash_duo.driver.execute_script("window.scrollTo(0, 0); arguments[0].click();", tab)
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                                   dash_duo.find_element(f"#{tp.OPTIONS} input[value='{tp.ENCLOSING}']"))
    dash_duo.wait_for_contains_text(f"#{tp.SUMMARY}", "niveaux englobants inclus", timeout=20)
    dash_duo.wait_for_element(f"#{tp.SHOW_ON_MAP}:not([disabled])", timeout=10).click()
    dash_duo.wait_for_contains_text(f"#{ids.TABS} .nav-link.active", "Carte", timeout=10)
    assert dash_duo.get_logs() == []


def test_map_counts_are_computed_once_and_handed_out_as_copies(built_root):
    """The choropleth's counts per level are kept (the build does not change under a service):
    the same numbers each time, and a caller changing its frame changes nothing for the next."""
    from models.serve.explorer import Explorer

    svc = Explorer.load(built_root).territories
    first = svc.counts("departement")
    first["n"] = -1
    again = svc.counts("departement")
    assert (again["n"] >= 0).all() and again["n"].sum() > 0
    assert again.equals(svc.counts("departement"))

"""« Visite de l'étude »: the guided tour, its validation and a run in the browser
(components/tour.py, callbacks/tour.py, assets/40-tour.js)."""

from __future__ import annotations

import json

import pytest

from tests.map_page import open_map


def test_tour_validation_in_french():
    import base64

    from callbacks.tour import parse_tour_file
    from components.tour import DEFAULT_TOUR, TourError, tour_json, validate_tour

    steps = validate_tour({"steps": DEFAULT_TOUR})
    assert len(steps) == len(DEFAULT_TOUR) and steps[2]["query"] == "piscines à Toulouse"
    again = json.loads(tour_json(steps))
    assert validate_tour(again) == steps  # download -> upload gives the same tour
    ok = {"steps": [{"title": "Zoom", "page": "carte", "view": {"x": [0, 1], "y": [2, 3.5]}}]}
    assert validate_tour(ok)[0]["view"] == {"x": [0.0, 1.0], "y": [2.0, 3.5]}

    def data_url(text: str) -> str:
        return "data:application/json;base64," + base64.b64encode(text.encode()).decode()

    assert parse_tour_file(data_url(json.dumps(ok)))[0]["title"] == "Zoom"
    bad = {
        "{pas du json": "JSON illisible",
        json.dumps({"steps": []}): "liste d'étapes non vide",
        json.dumps({"steps": [{"title": ""}]}): "Étape 1",
        json.dumps({"steps": [{"title": "a", "page": "<script>"}]}): "page inconnue",
        json.dumps({"steps": [{"title": "a", "view": {"x": [0], "y": [1, 2]}}]}): "deux nombres",
        json.dumps([{"title": "a", "caption": 3}]): "légende",
    }
    for text, message in bad.items():
        with pytest.raises(TourError, match=message):
            parse_tour_file(data_url(text))
    with pytest.raises(TourError, match="pas un texte JSON"):
        parse_tour_file("data:application/json;base64,//79")
    with pytest.raises(TourError, match="Aucun fichier"):
        parse_tour_file(None)


@pytest.mark.browser
def test_tour_runs_end_to_end(dash_duo, app, explorer, tmp_path):

    from dash.testing.wait import until
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    from components import ids
    from components.tour import DEFAULT_TOUR

    open_map(dash_duo, app)
    driver = dash_duo.driver

    def click(sel):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
                              dash_duo.find_element(sel))

    def overlay_text():
        el = dash_duo.find_element(f"#{ids.TOUR_OVERLAY}")
        return "" if "d-none" in (el.get_attribute("class") or "") else el.text

    def active_tab():
        return dash_duo.find_element(f"#{ids.TABS} .nav-link.active").text

    click(f"#{ids.TOUR_START_DEFAULT}")
    n = len(DEFAULT_TOUR)
    names = {"carte": "Carte", "themes": "Thèmes", "comparer": "Comparer", "territoires": "Territoires"}
    for i, step in enumerate(DEFAULT_TOUR):
        until(lambda i=i: f"Étape {i + 1} sur {n}" in overlay_text(), timeout=60)
        assert step["title"] in overlay_text()
        until(lambda step=step: active_tab() == names[step["page"]], timeout=30)
        if step.get("query"):  # the search ran: its results are listed
            until(lambda step=step: dash_duo.find_element(f"#{ids.SEARCH_INPUT}").get_attribute("value")
                  == step["query"], timeout=30)
            dash_duo.wait_for_element(f"#{ids.RESULTS} .dataset-item", timeout=60)
        if step.get("compare"):
            dash_duo.wait_for_element("#compare-columns .dataset-item", timeout=60)
        key = Keys.SPACE if i % 2 else Keys.ARROW_RIGHT  # both move on
        ActionChains(driver).send_keys(key).perform()
    until(lambda: overlay_text() == "", timeout=30)  # after the last step the tour closes

    # « Ajouter cette vue », then download it; a bad file is refused in French
    click(f"a[data-value='carte'], #{ids.TABS} .nav-link")
    until(lambda: active_tab() == "Carte", timeout=30)
    click(f"#{ids.TOUR_ADD}")
    dash_duo.wait_for_contains_text(f"#{ids.TOUR_MESSAGE}", "Vue ajoutée", timeout=30)
    bad = tmp_path / "visite.json"
    bad.write_text('{"steps": [{"title": "x", "page": "ailleurs"}]}', encoding="utf-8")
    dash_duo.find_element(f"#{ids.TOUR_UPLOAD} input[type=file]").send_keys(str(bad))
    dash_duo.wait_for_contains_text(f"#{ids.TOUR_MESSAGE}", "Visite refusée", timeout=30)
    assert "page inconnue" in dash_duo.find_element(f"#{ids.TOUR_MESSAGE}").text
    click(f"#{ids.TOUR_START_MINE}")  # the view added is still there: « Ma visite » plays it
    until(lambda: "Étape 1 sur 1" in overlay_text(), timeout=30)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    until(lambda: overlay_text() == "", timeout=30)
    assert dash_duo.get_logs() == []

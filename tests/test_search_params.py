"""The fitted search constants have one source, the package's ``search_params.json``: declared as
package data, every fitted field there and only there, and no silent fallback when it is missing
or broken (the app and the CLI refuse to start with one line)."""

from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

import models.core.search_params as SP
from models.core.search_params import (
    FITTED_FIELDS,
    HAND_SET_FIELDS,
    PARAMS_FILE,
    SearchParams,
    SearchParamsError,
    load_search_params,
)

ROOT = Path(__file__).resolve().parents[1]


def test_fitted_and_hand_set_fields_partition_the_dataclass():
    names = [f.name for f in fields(SearchParams)]
    assert sorted(FITTED_FIELDS + HAND_SET_FIELDS) == sorted(names)
    assert not set(FITTED_FIELDS) & set(HAND_SET_FIELDS)
    # a fitted field has no value in code: its default comes from the JSON
    assert all(f.default is None for f in fields(SearchParams) if f.name in FITTED_FIELDS)
    assert all(f.default is not None for f in fields(SearchParams) if f.name in HAND_SET_FIELDS)


def test_json_fitted_keys_are_exactly_the_fitted_fields():
    params = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))["params"]
    assert set(params) - set(HAND_SET_FIELDS) == set(FITTED_FIELDS)  # none missing, none unknown
    # SearchParams() is the fitted parameters
    assert all(getattr(SearchParams(), k) == v for k, v in params.items())
    assert SearchParams() == load_search_params()


def test_package_data_declares_every_json_under_models():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    declared = [Path(*package.split(".")) / glob for package, globs in setuptools["package-data"].items()
                for glob in globs]
    files = sorted(p.relative_to(ROOT) for p in (ROOT / "models").rglob("*.json"))
    assert files, "no JSON under models/"
    for rel in files:
        assert any(rel.match(str(glob)) for glob in declared), f"{rel} not in package-data"
        # and its package is one setuptools finds (a sub-package missed would ship without it)
        package = ".".join(rel.parent.parts)
        assert any(package == inc or (inc.endswith(".*") and package.startswith(inc[:-1]))
                   for inc in setuptools["packages"]["find"]["include"]), package
    assert {Path("models/core/search_params.json"), Path("models/serve/confidence_params.json")} <= set(files)


def _write(path: Path, params: dict) -> Path:
    path.write_text(json.dumps({"params": params}), encoding="utf-8")
    return path


@pytest.mark.parametrize("problem", ["missing", "not json", "fitted key missing", "wrong type",
                                     "unknown key"])
def test_load_refuses_a_broken_file_with_one_line(tmp_path, problem):
    good = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))["params"]
    path = tmp_path / "search_params.json"
    if problem == "not json":
        path.write_text("{not json", encoding="utf-8")
    elif problem == "fitted key missing":
        _write(path, {k: v for k, v in good.items() if k != "alpha_long"})
    elif problem == "wrong type":
        _write(path, {**good, "beta_long": "five"})
    elif problem == "unknown key":
        _write(path, {**good, "alpha_medium": 0.5})
    with pytest.raises(SearchParamsError) as info:
        load_search_params(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert isinstance(info.value, ValueError)
    expected = {"missing": "missing", "not json": "not JSON", "fitted key missing": "alpha_long",
                "wrong type": "beta_long", "unknown key": "alpha_medium"}[problem]
    assert expected in message


@pytest.fixture
def broken_package_params(tmp_path, monkeypatch):
    """The package's search_params.json replaced by a missing file (the cache emptied)."""
    monkeypatch.setattr(SP, "PARAMS_FILE", tmp_path / "nowhere" / "search_params.json")
    SP._package_fitted.cache_clear()
    yield tmp_path
    SP._package_fitted.cache_clear()


def test_no_silent_default_when_the_package_file_is_missing(broken_package_params):
    with pytest.raises(SearchParamsError, match="missing"):
        SearchParams()
    # every field given: no file needed
    assert SearchParams(**{k: 1 for k in FITTED_FIELDS}).alpha_short == 1


@pytest.mark.parametrize("broken", ["missing", "fitted key missing"])
def test_app_and_cli_refuse_to_start_with_one_line(tmp_path, monkeypatch, caplog, capsys, broken):
    from app import main as app_main
    from models.cli import main as cli_main

    if broken == "missing":
        target = tmp_path / "search_params.json"
    else:
        good = json.loads(PARAMS_FILE.read_text(encoding="utf-8"))["params"]
        target = _write(tmp_path / "search_params.json",
                        {k: v for k, v in good.items() if k != "smooth_long"})
    monkeypatch.setattr(SP, "PARAMS_FILE", target)
    SP._package_fitted.cache_clear()
    try:
        # the parameters are read before the artifacts: no build needed to see the refusal
        with caplog.at_level(logging.ERROR):
            assert app_main(["--artifacts", str(tmp_path / "no-build"), "--port", "8999"]) == 2
        lines = [r.getMessage() for r in caplog.records if r.name == "app" and r.levelno >= logging.ERROR]
        assert len(lines) == 1 and lines[0].startswith("cannot start: search parameters file")
        assert "\n" not in lines[0] and str(target) in lines[0]
        caplog.clear()
        with caplog.at_level(logging.ERROR):
            assert cli_main(["search", "--artifacts", str(tmp_path / "no-build"), "vacances"]) == 2
        cli_lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(cli_lines) == 1 and "search parameters file" in cli_lines[0]
        assert "Traceback" not in capsys.readouterr().err
    finally:
        SP._package_fitted.cache_clear()

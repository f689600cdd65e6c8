"""Metadata quality rules (models.core.quality) on crafted rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.core import quality

AS_OF = pd.Timestamp("2026-01-16T05:00:00")
GOOD = {
    "title": "Qualité de l'eau", "description_text": "x" * 150, "tags": ["eau", "rivière"],
    "license": "Licence Ouverte / Open Licence version 2.0", "spatial_zones": "France",
    "temporal_start": "2020-01-01", "temporal_end": "2024-12-31", "frequency": "annual",
    "last_modified": "2025-06-01T00:00:00", "views": 10,
}


def rows(*changes: dict) -> pd.DataFrame:
    return pd.DataFrame([{**GOOD, **c} for c in changes])


def test_good_row_scores_100():
    a = quality.assess(rows({}), as_of=AS_OF)
    assert a["score"].tolist() == [100]
    assert a["reasons"].tolist() == [[]] and a["n_issues"].tolist() == [0]


def test_description_missing_or_short():
    r = quality.check_description(rows({"description_text": ""}, {"description_text": "Court."},
                                       {"description_text": "y" * 100}))
    assert r[0] == "Description absente"
    assert r[1].startswith("Description très courte (6 caractères")
    assert r[2] is None
    a = quality.assess(rows({"description_text": ""}, {"description_text": "Court."}), as_of=AS_OF)
    assert a["score"].tolist() == [75, 85]  # absent costs more than very short


def test_tags():
    r = quality.check_tags(rows({"tags": []}, {"tags": np.array([], dtype=object)}, {"tags": ["  "]},
                                {"tags": ["eau"]}))
    assert r.tolist()[:3] == ["Aucun mot-clé"] * 3 and r[3] is None


@pytest.mark.parametrize("lic,expected", [
    ("", "Licence absente"),
    ("License Not Specified", "Licence non précisée (« License Not Specified »)"),
    ("notspecified", "Licence non précisée (« notspecified »)"),
    ("Open Data Commons Open Database License (ODbL)", None),
    ("Other (Attribution)", None),
])
def test_license(lic, expected):
    assert quality.check_license(rows({"license": lic}))[0] == expected


def test_territory_declared_or_extracted():
    df = rows({"spatial_zones": ""}, {"spatial_zones": ""}, {})
    # without extracted territories: only the declared zone counts
    assert quality.check_territory(df).tolist() == ["Aucune zone géographique déclarée"] * 2 + [None]
    # row 1 has a territory found in its text: it passes
    r = quality.check_territory(df, territory_rows={1}, rows=np.array([0, 1, 2]))
    assert r[0] == "Aucune zone géographique déclarée ni reconnue dans le texte"
    assert r[1] is None and r[2] is None
    # artifact row ids differ from the frame's index
    r = quality.check_territory(df, territory_rows={10}, rows=np.array([10, 11, 12]))
    assert r.isna().tolist() == [True, False, True]


def test_temporal():
    r = quality.check_temporal(rows({"temporal_start": "", "temporal_end": ""},
                                    {"temporal_start": "2020-01-01", "temporal_end": ""}))
    assert r[0] == "Aucune couverture temporelle déclarée" and r[1] is None


@pytest.mark.parametrize("frequency,last_modified,stale", [
    ("daily", "2026-01-14T00:00:00", False),    # 2 days < 3 days
    ("daily", "2026-01-01T00:00:00", True),     # 15 days
    ("weekly", "2025-12-30T00:00:00", False),   # 17 days < 21
    ("weekly", "2025-12-20T00:00:00", True),    # 27 days
    ("monthly", "2025-11-01T00:00:00", False),  # 2.5 months < 3 periods
    ("monthly", "2025-09-01T00:00:00", True),   # 4.5 months
    ("annual", "2023-06-01T00:00:00", False),   # 2.6 years < 3 years
    ("annual", "2022-06-01T00:00:00", True),    # 3.6 years
    ("punctual", "2010-01-01T00:00:00", False),  # no promise of update
    ("unknown", "2010-01-01T00:00:00", False),
    ("", "2010-01-01T00:00:00", False),
    ("monthly", "", False),                      # no date: cannot tell
])
def test_stale(frequency, last_modified, stale):
    r = quality.check_stale(rows({"frequency": frequency, "last_modified": last_modified}), AS_OF)
    assert (r[0] is not None) == stale


def test_stale_reason_is_french_and_relative_to_export_date():
    df = rows({"frequency": "monthly", "last_modified": "2024-01-10T12:00:00"})
    reason = quality.check_stale(df, AS_OF)[0]
    assert "« mensuelle »" in reason and "10/01/2024" in reason and "il y a 2,0 ans" in reason
    # judged as of an older export, the same row is fresh
    assert quality.check_stale(df, pd.Timestamp("2024-02-01"))[0] is None
    # no export date: no staleness verdict
    assert quality.check_stale(df, None)[0] is None


def test_export_date_is_newest_last_modified():
    s = pd.Series(["2024-01-01T00:00:00", "", "pas une date", "2026-01-16T05:16:13.033000",
                   "2025-03-01"])
    assert quality.export_date(s) == pd.Timestamp("2026-01-16T05:16:13.033")
    assert quality.export_date(pd.Series(["", "?"])) is None


def test_assess_score_reasons_and_priorities():
    df = rows(
        {},  # perfect
        {"license": "", "tags": [], "views": 5},  # 100 - 20 - 10 = 70
        {"license": "", "tags": [], "views": 500},  # same score, more viewed -> first
        {"description_text": "", "spatial_zones": "", "temporal_start": "", "temporal_end": "",
         "frequency": "daily", "last_modified": "2020-01-01", "license": "notspecified",
         "tags": []},  # everything fails: 0
    )
    a = quality.assess(df, as_of=AS_OF)
    assert a["score"].tolist() == [100, 70, 70, 0]
    assert a.loc[3, "n_issues"] == 6
    assert a.loc[1, "reasons"] == ["Aucun mot-clé", "Licence absente"]
    pr = quality.priorities(df, a)
    assert pr.index.tolist() == [3, 2, 1]  # worst first, then most viewed; perfect row left out
    shares = quality.failure_shares(a)
    assert shares["license"] == 0.75 and shares["stale"] == 0.25
    assert sum(r.weight for r in quality.RULES) == 100

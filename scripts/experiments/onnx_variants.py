"""Which int8 quantisation of e5-small to ship: speed and fidelity of each variant, one run.

    python scripts/experiments/onnx_variants.py --models-dir artifacts/models --passages 400 \
        --threads 2 --json

Exports the offline e5 folder to float32 ONNX once (in a temporary folder), then quantises it
dynamically in four ways — QInt8 / QUInt8 weights, per tensor / per output channel — with and
without ONNX Runtime's BERT operator fusion, and encodes the same catalogue passages (the sample
export, random, seed 0) with each and with torch (sentence-transformers), every engine limited
to the same number of threads. Prints passages/s and min / mean cosine with torch per variant.
``models.core.onnx_encoder.QUANTISATION`` holds the choice: the most faithful variant at least
twice as fast as torch.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

log = logging.getLogger("onnx_variants")


def main(argv=None) -> int:
    import onnx
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    from models.core import onnx_encoder as ox
    from models.core.config import DEFAULT_CATALOG
    from models.core.e5_offline import build_model_folder
    from models.core.encoders import SentenceTransformerEncoder
    from models.core.text import passage_text
    from models.pipeline.ingest import read_catalog

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models-dir", default="artifacts/models")
    p.add_argument("--catalog", default=str(DEFAULT_CATALOG.parent / "sample-3000.csv"))
    p.add_argument("--passages", type=int, default=400)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)

    source = build_model_folder(Path(args.models_dir) / ox.SOURCE_MODEL)
    df, _ = read_catalog(args.catalog)
    take = np.random.default_rng(0).permutation(len(df))[:args.passages]
    passages = [passage_text(df["title"].iat[i], df["description_text"].iat[i]) for i in take]
    torch_enc = SentenceTransformerEncoder(str(source))
    t0 = time.perf_counter()
    ref = torch_enc.encode(passages, kind="passage")
    results = {"torch": {"passages_per_s": round(len(passages) / (time.perf_counter() - t0), 2)}}

    with tempfile.TemporaryDirectory(dir=args.models_dir) as tmp:
        tmp = Path(tmp)
        folder = ox.ensure_onnx_model(args.models_dir)  # tokenizer and metadata of the encoder
        fp32 = tmp / "fp32.onnx"
        _export_fp32(source, fp32)
        opt = optimize_model(str(fp32), model_type="bert", num_heads=12, hidden_size=384, opt_level=1)
        fused = tmp / "fused.onnx"
        opt.save_model_to_file(str(fused))
        for fuse_name, src in (("plain", fp32), ("fused", fused)):
            for wt in ("QInt8", "QUInt8"):
                for per_channel in (False, True):
                    name = f"{fuse_name}-{wt.lower()}{'-per-channel' if per_channel else ''}"
                    out = tmp / f"{name}.onnx"
                    quantize_dynamic(str(src), str(out), weight_type=getattr(QuantType, wt),
                                     per_channel=per_channel,
                                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
                    results[name] = _measure(ort, out, folder, passages, ref, args.threads)
                    log.warning("%s: %s", name, results[name])
                    out.unlink()
    if args.json:
        print(json.dumps(results))
    else:
        for name, r in results.items():
            print(f"{name:<28} {r['passages_per_s']:>7.1f}/s  " + "  ".join(
                f"{k} {r[k]}" for k in ("min_cosine", "mean_cosine") if k in r))
    return 0


def _export_fp32(source: Path, path: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, m) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            h = self.m(input_ids=input_ids, attention_mask=attention_mask,
                       token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(h.dtype)
            return torch.nn.functional.normalize((h * mask).sum(1) / mask.sum(1).clamp(min=1e-9), dim=1)

    ids = torch.tensor([[0, 10, 11, 12, 2, 1, 1, 1], [0, 5, 6, 7, 8, 9, 10, 2]])
    with torch.inference_mode():
        torch.onnx.export(MeanPooled(model), (ids, (ids != 1).long()), str(path),
                          input_names=["input_ids", "attention_mask"], output_names=["embedding"],
                          dynamic_axes={"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"},
                                        "embedding": {0: "b"}}, opset_version=17, dynamo=False)


def _measure(ort, model_path: Path, folder: Path, passages, ref, threads: int) -> dict:
    from models.core.onnx_encoder import OnnxEncoder

    enc = OnnxEncoder(folder, threads=threads)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    enc.session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    enc.encode(passages[:16], kind="passage")
    t0 = time.perf_counter()
    vecs = enc.encode(passages, kind="passage")
    dt = time.perf_counter() - t0
    cos = (vecs * ref).sum(axis=1)
    return {"passages_per_s": round(len(passages) / dt, 2), "min_cosine": round(float(cos.min()), 4),
            "mean_cosine": round(float(cos.mean()), 4), "bytes": model_path.stat().st_size}


if __name__ == "__main__":
    sys.exit(main())

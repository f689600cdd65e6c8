"""Embedding step: passages encoded once, through a content-keyed on-disk cache.

The cache is keyed by ``sha256(model key, max length, prefix, text)`` so a rebuild on an
unchanged catalogue encodes nothing, and a new export re-encodes only the changed texts.
It is stored as append-only shards of plain ``.npy`` files, each written atomically,
so a build killed half-way keeps everything it had finished encoding.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from models.core.encoders import Encoder

log = logging.getLogger(__name__)

def _key(model_id: str, text: str) -> bytes:
    return hashlib.sha256(f"{model_id}\x00passage\x00{text}".encode()).digest()[:16]


class EmbeddingCache:
    """Append-only shards ``keys-NNNNN.npy`` (16-byte digests) + ``vecs-NNNNN.npy``."""

    def __init__(self, root: Path, model_id: str, dim: int) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.@-]", "_", model_id)
        self.dir = Path(root) / safe
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self.model_id = model_id
        self._index: dict[bytes, tuple[int, int]] = {}
        self._shards: dict[int, np.ndarray] = {}
        for keys_file in sorted(self.dir.glob("keys-*.npy")):
            shard = int(keys_file.stem.split("-")[1])
            vec_file = self.dir / f"vecs-{shard:05d}.npy"
            if not vec_file.exists():
                continue
            keys = np.load(keys_file)
            vecs = np.load(vec_file, mmap_mode="r")
            if vecs.shape != (len(keys), dim):
                log.warning("ignoring cache shard %s: shape %s", vec_file, vecs.shape)
                continue
            self._shards[shard] = vecs
            # the raw 16 bytes of each key: ``bytes(k)`` of a numpy "S16" item drops trailing NUL
            # bytes, and 1 key in 256 ends with one (a cache miss, re-encoded at every build)
            raw, width = keys.tobytes(), keys.dtype.itemsize
            for row in range(len(keys)):
                self._index[raw[row * width:(row + 1) * width]] = (shard, row)

    def __len__(self) -> int:
        return len(self._index)

    def lookup(self, keys: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Vectors for the keys found and a boolean mask of which were found."""
        out = np.zeros((len(keys), self.dim), dtype=np.float32)
        found = np.zeros(len(keys), dtype=bool)
        for i, k in enumerate(keys):
            loc = self._index.get(k)
            if loc is not None:
                out[i] = self._shards[loc[0]][loc[1]]
                found[i] = True
        return out, found

    def add(self, keys: Sequence[bytes], vecs: np.ndarray) -> None:
        if not len(keys):
            return
        shard = max(self._shards, default=-1) + 1
        karr = np.frombuffer(b"".join(keys), dtype="S16")
        for name, arr in ((f"vecs-{shard:05d}.npy", vecs.astype(np.float32)),
                          (f"keys-{shard:05d}.npy", karr)):  # keys last: they commit the shard
            tmp = self.dir / (name + ".tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
            os.replace(tmp, self.dir / name)
        self._shards[shard] = np.load(self.dir / f"vecs-{shard:05d}.npy", mmap_mode="r")
        for row, k in enumerate(keys):
            self._index[k] = (shard, row)


def embed_passages(texts: Sequence[str], encoder: Encoder, cache_root: Path | None, *,
                   batch_size: int = 32, flush_every: int = 2048,
                   show_progress: bool = True, runner=None, remote=None) -> tuple[np.ndarray, dict]:
    """Embed passages, reusing and filling the cache. Returns vectors and counts. With a
    :class:`~models.build.distributed.DaskRunner`, the passages missing from the cache are encoded
    on its workers by ``remote`` (see :func:`~models.build.distributed.worker_encoder`); ``encoder``
    then only needs ``model_id`` and ``dim``."""
    from tqdm.auto import tqdm

    from models.build.distributed import encode_chunk

    keys = [_key(encoder.model_id, t) for t in texts]
    if cache_root is None:
        vecs, found = np.zeros((len(texts), encoder.dim), np.float32), np.zeros(len(texts), bool)
        cache = None
    else:
        cache = EmbeddingCache(cache_root, encoder.model_id, encoder.dim)
        vecs, found = cache.lookup(keys)
    todo = np.flatnonzero(~found)
    stats = {"total": len(texts), "cached": int(found.sum()), "encoded": len(todo)}
    if len(todo):
        # longest first: padding waste is smallest and the time estimate errs on the safe side
        todo = todo[np.argsort([-len(texts[i]) for i in todo], kind="stable")]
        log.info("encoding %d passages (%d from cache) with %s", len(todo), stats["cached"],
                 encoder.model_id)
        t0 = time.perf_counter()
        with tqdm(total=len(todo), desc="embeddings", unit="passage", disable=not show_progress,
                  mininterval=2.0) as bar:
            if runner is not None:  # slices of the same length-sorted order, one task each
                parts = [todo[a:b] for a, b in runner.bounds(len(todo), multiple=batch_size,
                                                            max_size=flush_every)]
                chunks = runner.as_completed(encode_chunk, [[texts[i] for i in idx] for idx in parts],
                                             remote, batch_size)
            else:
                parts = [todo[start:start + flush_every] for start in range(0, len(todo), flush_every)]
                chunks = ((j, encoder.encode([texts[i] for i in idx], kind="passage",
                                             batch_size=batch_size, progress=bar.update))
                          for j, idx in enumerate(parts))
            for j, chunk in chunks:
                idx = parts[j]
                vecs[idx] = chunk
                if cache is not None:
                    cache.add([keys[i] for i in idx], chunk)
                if runner is not None:
                    bar.update(len(idx))
        elapsed = time.perf_counter() - t0
        stats["seconds"] = round(elapsed, 2)
        stats["passages_per_s"] = round(len(todo) / elapsed, 2) if elapsed else None
    return vecs, stats

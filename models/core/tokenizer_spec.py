"""``tokenizer.json`` read the way the reference encoder reads it.

The offline e5 model's ``tokenizer.json`` splits words with XLM-R's ``Metaspace`` alone. The
reference encoder (sentence-transformers over ``transformers`` ≥ 5) does not use that split: its
``XLMRobertaTokenizer`` rebuilds the tokenizer with ``WhitespaceSplit`` before ``Metaspace``, so
whitespace left at either end of a text after normalisation (a trailing zero-width space, turned
into a space by the normaliser) gives no « ▁ » piece there. Read as the file says, one passage of
the full catalogue (« Données essentielles des conventions de subvention de la Région
Bourgogne-Franche-Comté », ending in U+200B) got one piece more than under torch, and a vector at
cosine 0.9986 from torch's. Every tokenizer the ONNX engine and the app build from a
``tokenizer.json`` goes through :func:`as_reference`.
"""

from __future__ import annotations

import json
from pathlib import Path

WHITESPACE_SPLIT = {"type": "WhitespaceSplit"}
# a unigram tokenizer.json of three pieces with XLM-R's word split (the examples below)
TINY = {"version": "1.0", "model": {"type": "Unigram", "unk_id": 0,
                                    "vocab": [["<unk>", 0.0], ["▁", -2.0], ["▁eau", -1.0]]},
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": True}}


def as_reference(spec: dict) -> dict:
    """``spec`` (a parsed ``tokenizer.json``) with the word split of the reference tokenizer: a
    unigram model's lone ``Metaspace`` becomes ``WhitespaceSplit`` then that ``Metaspace``, as
    ``transformers``' ``XLMRobertaTokenizer`` builds it. Any other tokenizer: unchanged.

    Examples
    --------
    >>> spec = {"model": {"type": "Unigram"}, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁"}}
    >>> [p["type"] for p in as_reference(spec)["pre_tokenizer"]["pretokenizers"]]
    ['WhitespaceSplit', 'Metaspace']
    >>> bert = {"model": {"type": "WordPiece"}, "pre_tokenizer": {"type": "BertPreTokenizer"}}
    >>> as_reference(bert) is bert
    True
    """
    pre = spec.get("pre_tokenizer")
    if (spec.get("model") or {}).get("type") != "Unigram" or not isinstance(pre, dict) \
            or pre.get("type") != "Metaspace":
        return spec
    return dict(spec, pre_tokenizer={"type": "Sequence", "pretokenizers": [WHITESPACE_SPLIT, pre]})


def read_spec(path: str | Path) -> dict:
    """The parsed ``tokenizer.json`` at ``path``, through :func:`as_reference`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "tokenizer.json"
    ...     _ = path.write_text(json.dumps(TINY))
    ...     read_spec(path)["pre_tokenizer"]["type"]
    'Sequence'
    """
    return as_reference(json.loads(Path(path).read_text(encoding="utf-8")))


def load_tokenizer(path: str | Path):
    """A ``tokenizers.Tokenizer`` for the ``tokenizer.json`` at ``path``, as the reference reads it:
    no « ▁ » piece for whitespace at either end.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = Path(tmp) / "tokenizer.json"
    ...     _ = path.write_text(json.dumps(TINY))
    ...     load_tokenizer(path).encode("eau ").tokens
    ['▁eau']
    """
    from tokenizers import Tokenizer  # lazy: loaded only when a tokenizer.json is read

    return Tokenizer.from_str(json.dumps(read_spec(path)))

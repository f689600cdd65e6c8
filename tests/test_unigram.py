"""The lean query tokenizer (models.core.unigram) against ``tokenizers`` on a small unigram
vocabulary: same ids on any text (the real vocabulary is checked in test_onnx_encoder). Both read
the ``tokenizer.json`` with the reference encoder's word split (models.core.tokenizer_spec)."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer

from models.core.tokenizer_spec import as_reference
from models.core.unigram import UnigramTokenizer

PIECES = ["▁", "a", "b", "c", "é", "ab", "abc", "▁a", "▁ab", "bc", "ca", "▁c", "cé", "éa", "▁é"]


def spec() -> dict:
    specials = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    # scores chosen so that ties never decide: every piece its own log-probability
    vocab = specials + [[p, math.log(1 / (i + 2)) - 0.01 * len(p)] for i, p in enumerate(PIECES)]
    added = [{"id": i, "content": p, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, (p, _) in enumerate(specials)]
    return {"version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                              "split": True},
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                          {"Sequence": {"id": "A", "type_id": 0}},
                                          {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                               "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
                               "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                                  "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
            "decoder": None,
            "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab, "byte_fallback": False}}


REF = Tokenizer.from_str(json.dumps(as_reference(spec())))
REF.enable_truncation(16)
LEAN = UnigramTokenizer(spec(), max_length=16)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="abcéxz <s>/", max_size=40))
def test_same_ids_as_tokenizers(text):
    assert LEAN.encode(text) == REF.encode(text).ids


def test_whitespace_at_either_end_gives_no_piece():
    """As torch's tokenizer: « ab » and « ab » between spaces are the same ids (read as the file
    says, ``tokenizers`` adds a « ▁ » piece for the trailing space)."""
    assert LEAN.encode(" ab  ") == LEAN.encode("ab") == REF.encode(" ab  ").ids
    assert LEAN.encode(" ") == LEAN.encode("") == [0, 2]
    raw = Tokenizer.from_str(json.dumps(spec()))
    assert raw.encode("ab ").ids != REF.encode("ab ").ids


def test_unknown_characters_are_fused_and_specials_kept():
    ids = LEAN.encode("xyz ab <s>")
    assert ids == REF.encode("xyz ab <s>").ids
    assert ids.count(3) == 1  # « xyz »: one <unk>
    assert ids[0] == 0 and ids[-1] == 2 and 0 in ids[1:-1]  # the literal <s> is the special piece


def test_truncation_keeps_the_specials():
    ids = LEAN.encode("abc " * 50)
    assert len(ids) == 16 and ids[0] == 0 and ids[-1] == 2
    assert ids == REF.encode("abc " * 50).ids

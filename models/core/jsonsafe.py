"""Bounded checks of JSON text before it is decoded (the decoder recurses on nesting: a
30,000-deep object is a ``RecursionError``)."""

from __future__ import annotations

import numpy as np

BLOCK = 1 << 18  # bytes scanned at once: a few MB of work arrays, reused from the cache


def json_shape(data: bytes, block: int = BLOCK) -> tuple[int, int]:
    """(deepest nesting of ``[``/``{``, number of objects ``{``) in JSON text, strings left out.
    Linear and vectorised: a quote opens or closes a string unless an odd run of backslashes
    precedes it, brackets count outside strings only (no regex: a backtracking pattern over
    « "\\"\\"… » was quadratic, 20 s of CPU for 64 KB). Scanned in blocks of ``block`` bytes
    (the string state, the trailing backslash run and the depth carried from one to the next), so
    a 2 MB body needs no 50 MB of work arrays: ~10-30 ms for any 2 MB (docs/measurements.md).

    Examples
    --------
    >>> json_shape(b'{"a": [1, {"b": "[[[\\\\"}]}')
    (3, 2)
    >>> json_shape(b'["\\"]"]')
    (1, 0)
    >>> json_shape(b'["\\"]"]', block=2)
    (1, 0)
    """
    view = memoryview(data)
    in_string, odd_run, depth, best, objects = False, False, 0, 0, 0
    for start in range(0, len(view), block):
        a = np.frombuffer(view[start:start + block], dtype=np.uint8)
        backslash = a == 0x5C
        escaped = np.zeros(len(a), dtype=bool)  # preceded by an odd run of backslashes
        escaped[0] = odd_run
        if backslash.any():
            idx = np.arange(len(a), dtype=np.int32)
            last_other = np.maximum.accumulate(np.where(backslash, -1, idx))
            run = idx - last_other  # backslashes ending here, within the block
            odd = (run & 1).astype(bool)
            if odd_run:  # the block's leading run continues the previous block's odd one
                odd ^= last_other == -1
            escaped[1:] = odd[:-1]
            odd_run = bool(odd[-1]) and bool(backslash[-1])
        else:
            odd_run = False
        quote = (a == 0x22) & ~escaped
        inside = np.bitwise_xor.accumulate(quote)  # from an opening quote up to its closing one
        if in_string:
            inside = ~inside
        outside = ~(inside | quote)
        in_string = bool(inside[-1])
        steps = (((a == 0x5B) | (a == 0x7B)) & outside).astype(np.int32)
        steps -= ((a == 0x5D) | (a == 0x7D)) & outside
        levels = np.cumsum(steps)
        best = max(best, depth + int(levels.max(initial=0)))
        depth += int(levels[-1])
        objects += int(np.count_nonzero((a == 0x7B) & outside))
    return best, objects


def json_depth(data: bytes) -> int:
    """Deepest nesting of ``[``/``{`` in JSON text, strings left out (:func:`json_shape`).

    Examples
    --------
    >>> json_depth(b'{"a": [[1], {"b": "]]]"}]}'), json_depth(b"[]"), json_depth(b'"x"')
    (3, 1, 0)
    """
    return json_shape(data)[0]

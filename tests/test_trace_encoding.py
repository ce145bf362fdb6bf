"""A trace line's text: every number reads back exactly, as from ``json.dumps``."""

from __future__ import annotations

import json
import math

import numpy as np

from engine.trace.writer import encode_record


def _same(a, b) -> bool:
    """Equal, with NaN equal to NaN and -0 told from +0."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


def test_every_float64_reads_back_bit_for_bit():
    """Random bit patterns cover every exponent, subnormals included."""
    rng = np.random.default_rng(0)
    numbers = rng.integers(0, 2**64, size=20_000, dtype=np.uint64).view(np.float64)
    numbers = numbers[np.isfinite(numbers)].tolist()
    numbers += [0.0, -0.0, 5e-324, 1.7976931348623157e308, 1e-5, 1e-7, 1e16, 0.1, 1 / 3]
    numbers += rng.normal(scale=1e-3, size=5_000).tolist()  # gradients: small exponents
    text = encode_record({"values": numbers})
    back = json.loads(text)["values"]
    assert np.array_equal(np.array(back).view(np.uint64), np.array(numbers).view(np.uint64))


def test_a_record_reads_back_as_json_dumps_writes_it():
    record = {
        "type": "forward",
        "step": 3,
        "layer": "隐藏层",  # non-ASCII text, written as UTF-8
        "values": {"z": [[1.5, -0.0], [float("nan"), float("inf")]], "a": [-float("inf")]},
        "worked": "z = 0.5×2 + 1e-05",
        "big": 2**70,
        "flags": [True, False, None],
        "shape": (2, 2),
        "lr": np.float64(0.001),
    }
    text = encode_record(record)
    assert "\n" not in text and '"隐藏层"' in text
    assert _same(json.loads(text), json.loads(json.dumps(record)))
    assert json.loads(text)["worked"] == "z = 0.5×2 + 1e-05"  # text is never reformatted


def test_not_finite_numbers_as_json_dumps_writes_them():
    assert encode_record([float("nan"), float("inf"), -float("inf")]) == "[NaN,Infinity,-Infinity]"

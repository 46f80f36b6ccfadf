# SPDX-License-Identifier: Apache-2.0
"""Comparison of saved-model JSON documents across the fixed-point tree arithmetic (issue 14).

Trees sum gradients in fixed point since then (docs/trees.md, "Exact sums"): a recipe that wrote a
golden file with the float32 gradients now writes the same trees (every split, threshold, count
and string) with floats that differ in the 7th significant digit at most.
"""

import math


def assert_same_up_to_float_rounding(ours, gold, path="", rel_tol=1e-6, abs_tol=1e-7):
    """ours == gold, except that floats may differ by rel_tol (abs_tol near zero)."""
    if isinstance(gold, dict):
        assert isinstance(ours, dict) and set(ours) == set(gold), path
        for key in gold:
            assert_same_up_to_float_rounding(ours[key], gold[key], f"{path}/{key}", rel_tol,
                                             abs_tol)
    elif isinstance(gold, list):
        assert isinstance(ours, list) and len(ours) == len(gold), path
        for i, (a, b) in enumerate(zip(ours, gold)):
            assert_same_up_to_float_rounding(a, b, f"{path}/{i}", rel_tol, abs_tol)
    elif isinstance(gold, float) and isinstance(ours, float):
        assert math.isclose(ours, gold, rel_tol=rel_tol, abs_tol=abs_tol), (path, ours, gold)
    else:
        assert type(ours) is type(gold) and ours == gold, (path, ours, gold)

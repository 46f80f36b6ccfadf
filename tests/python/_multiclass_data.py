# SPDX-License-Identifier: Apache-2.0
"""Three-class test data shared by the K-class pipeline, calibration and card tests: four normal
features and labels drawn from known softmax logits."""

import numpy as np

CLAIM_LABELS = np.array(["denied", "paid", "review"])


def softmax_data(n, seed, labels=CLAIM_LABELS):
    """(X, y): X ~ N(0, 1) of shape (n, 4); y = labels[k] with k drawn from softmax(z),
    z = (0, 1.5 x0 - x1, -x0 + 1.2 x2 + 0.3)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    z = np.column_stack([np.zeros(n), 1.5 * X[:, 0] - X[:, 1], -X[:, 0] + 1.2 * X[:, 2] + 0.3])
    P = np.exp(z - z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    return X, np.asarray(labels)[(rng.random(n)[:, None] > P.cumsum(axis=1)).sum(1)]

"""SIF word weights (smooth inverse frequency, Arora et al. 2017): ``a / (a + p(w))``, so frequent
words weigh little in a document's or a query's mean word vector. Shared by the pipeline's
``word`` step (:mod:`models.pipeline.word2vec`) and the app's ``word`` search
(:mod:`models.serve.wordvec`).
"""

from __future__ import annotations

import numpy as np

SIF_A = 1e-3


def sif_weights(counts: np.ndarray, a: float = SIF_A) -> np.ndarray:
    """Weight of each word of a vocabulary from its corpus counts.

    Examples:
        >>> [round(float(w), 4) for w in sif_weights(np.array([999.0, 1.0]))]
        [0.001, 0.5]
    """
    p = counts / max(counts.sum(), 1)
    return (a / (a + p)).astype(np.float32)

"""How good are G's samples? Measures for mixtures of Gaussians and any real sample.

Mode coverage and sample quality, as defined by VEEGAN (Srivastava et al. 2017) and used by
PacGAN (Lin et al. 2018), for data drawn around known centers with standard deviation σ:

    nearest mode of a sample y:  m(y) = argmin_k ‖y - c_k‖
    y is high-quality            if ‖y - c_m(y)‖ ≤ 3σ
    mode k is covered            if k = m(y) for at least one high-quality y

Distances between the whole distributions (no modes needed):

    Wasserstein-1 (1-D data):  W1 = ∫ |F_real(t) - F_fake(t)| dt  (F: empirical CDFs)
    MMD² (Gaussian kernel k(a, b) = exp(-‖a - b‖² / (2h²)), unbiased estimate):
        MMD² = mean_{i≠j} k(x_i, x_j) + mean_{i≠j} k(y_i, y_j) - 2·mean_{i,j} k(x_i, y_j)
"""

from __future__ import annotations

import numpy as np


def nearest_modes(samples: np.ndarray, centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each sample, the index of its nearest center and the distance to it."""
    diff = samples[:, None, :] - centers[None, :, :]
    distances = np.sqrt(np.sum(diff * diff, axis=2))  # (N, K)
    nearest = np.argmin(distances, axis=1)
    return nearest, distances[np.arange(len(samples)), nearest]


def mode_coverage(
    samples: np.ndarray, centers: np.ndarray, std: float, within: float = 3.0
) -> dict[str, float]:
    """Modes covered and the fraction of high-quality samples (VEEGAN's definitions).

    Returns {"modes": covered modes, "high_quality": fraction of high-quality samples,
    "modes_total": K}; ``counts`` per mode are in ``mode_counts``.
    """
    nearest, distance = nearest_modes(samples, centers)
    good = distance <= within * std
    counts = np.bincount(nearest[good], minlength=len(centers))
    return {
        "modes": int(np.count_nonzero(counts)),
        "modes_total": len(centers),
        "high_quality": float(np.mean(good)) if len(samples) else 0.0,
        "mode_counts": counts.tolist(),
    }


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """W1 between two 1-D samples: the area between their empirical CDFs."""
    a, b = np.sort(np.ravel(a)), np.sort(np.ravel(b))
    points = np.sort(np.concatenate([a, b]))
    widths = np.diff(points)
    cdf_a = np.searchsorted(a, points[:-1], side="right") / len(a)
    cdf_b = np.searchsorted(b, points[:-1], side="right") / len(b)
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


def _squared_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d = np.sum(x * x, axis=1)[:, None] + np.sum(y * y, axis=1)[None, :] - 2.0 * x @ y.T
    return np.maximum(d, 0.0)


def median_bandwidth(x: np.ndarray) -> float:
    """The median heuristic: h = median distance between distinct samples of ``x``."""
    d = np.sqrt(_squared_distances(x, x))
    off_diagonal = d[~np.eye(len(x), dtype=bool)]
    median = float(np.median(off_diagonal)) if off_diagonal.size else 1.0
    return median if median > 0 else 1.0


def mmd2(x: np.ndarray, y: np.ndarray, bandwidth: float) -> float:
    """Unbiased MMD² between samples x (n, d) and y (m, d), Gaussian kernel of width h.

    Near 0 (it can dip just below) when both come from the same distribution.
    """
    scale = -1.0 / (2.0 * bandwidth * bandwidth)
    n, m = len(x), len(y)
    kxx = np.exp(_squared_distances(x, x) * scale)
    kyy = np.exp(_squared_distances(y, y) * scale)
    kxy = np.exp(_squared_distances(x, y) * scale)
    within_x = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def spread(samples: np.ndarray) -> float:
    """√(Σ_features variance): how far samples lie from their mean, typically."""
    return float(np.sqrt(np.sum(np.var(samples, axis=0))))


class SampleMetrics:
    """Measures G's samples against the real data, and watches for collapse.

    ``measure(samples, step)`` returns the numbers for the per-step scalars (modes,
    high_quality, w1 or mmd2) and, when G collapses, a warning: its samples cover far fewer
    modes than earlier (at most half of the best so far), or they shrink to a point (their
    spread below a tenth of the data's).
    """

    def __init__(self, data, mmd_samples: int, rng: np.random.Generator):
        self.centers = data.info.get("centers")
        self.std = data.info.get("std")
        self.features = data.x.shape[1]
        order = rng.permutation(len(data.x))
        self.reference = data.x[order[: min(len(data.x), 2500)]]
        self.mmd_samples = mmd_samples
        self.bandwidth = None
        if self.features > 1:
            self.bandwidth = median_bandwidth(self.reference[:mmd_samples])
        self.data_spread = spread(data.x)
        self.best_modes, self.best_step = 0, None
        self._first: dict[str, str] = {}  # kind of collapse -> its first warning
        self._repeats: dict[str, int] = {}  # kind of collapse -> measurements since

    @property
    def warnings(self) -> list[str]:
        """The first warning of each kind of collapse, and how often it was seen again."""
        texts = []
        for kind, first in self._first.items():
            again = self._repeats[kind]
            plural = "s" if again > 1 else ""
            texts.append(first + (f" (and at {again} later measurement{plural})" if again else ""))
        return texts

    @property
    def has_modes(self) -> bool:
        return self.centers is not None and self.std is not None

    def measure(self, samples: np.ndarray, step: int) -> tuple[dict[str, float], str | None]:
        values: dict[str, float] = {}
        if self.has_modes:
            coverage = mode_coverage(samples, np.asarray(self.centers), float(self.std))
            values["modes"] = coverage["modes"]
            values["high_quality"] = coverage["high_quality"]
        if self.features == 1:
            values["w1"] = wasserstein_1d(samples, self.reference)
        else:
            values["mmd2"] = mmd2(
                samples[: self.mmd_samples], self.reference[: self.mmd_samples], self.bandwidth
            )
        values["spread"] = spread(samples)
        warning = self._collapse(values, step)
        if warning is not None:
            kind = warning.split(" at step")[0]
            if kind in self._first:
                self._repeats[kind] += 1
            else:
                self._first[kind], self._repeats[kind] = warning, 0
        return values, warning

    def _collapse(self, values: dict[str, float], step: int) -> str | None:
        warning = None
        modes = values.get("modes")
        if modes is not None:
            if self.best_modes >= 2 and modes <= self.best_modes / 2:
                warning = (
                    f"mode collapse at step {step}: G's samples cover {modes} of "
                    f"{len(self.centers)} modes, down from {self.best_modes} at step "
                    f"{self.best_step}"
                )
            if modes > self.best_modes:
                self.best_modes, self.best_step = modes, step
        if warning is None and values["spread"] < 0.1 * self.data_spread:
            warning = (
                f"G collapsed to a point at step {step}: its samples spread "
                f"{values['spread']:.3g} around their mean, the data {self.data_spread:.3g}"
            )
        return warning


def class_fidelity(
    samples: np.ndarray, mode: int, centers: np.ndarray, std: float, within: float = 3.0
) -> float:
    """For a conditional GAN's samples of class ``mode``: the fraction that are high quality
    (within ``within``·std of their nearest mode) and whose nearest mode is ``mode``."""
    nearest, distance = nearest_modes(samples, centers)
    return float(np.mean((nearest == mode) & (distance <= within * std)))

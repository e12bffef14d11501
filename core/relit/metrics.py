"""Image and pass metrics shared by the engine benchmarks and ``relit eval``. Each is taken over a mask
(the subject), since the background says nothing about a pass."""
from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import binary_erosion, binary_fill_holes, distance_transform_edt, gaussian_filter, label

from .vectors import dot


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray, peak: float | None = None) -> float:
    """PSNR over ``mask`` with the peak taken as the reference's maximum there (HDR images have no fixed white)."""
    ref = b[mask]
    peak = float(ref.max()) if peak is None else peak
    mse = float(np.mean((a[mask] - ref) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray, mask: np.ndarray, peak: float | None = None) -> float:
    """Mean SSIM (Wang et al. 2004, Gaussian window sigma 1.5) of the luminance-averaged images over ``mask``."""
    x, y = a.mean(axis=-1), b.mean(axis=-1)
    peak = float(y[mask].max()) if peak is None else peak
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mx, my = gaussian_filter(x, 1.5), gaussian_filter(y, 1.5)
    vx = gaussian_filter(x * x, 1.5) - mx * mx
    vy = gaussian_filter(y * y, 1.5) - my * my
    cov = gaussian_filter(x * y, 1.5) - mx * my
    s = (2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s[mask].mean())


def angular_error(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Angles in degrees between unit normals at the ``mask`` pixels."""
    return np.degrees(np.arccos(np.clip(dot(a[mask], b[mask]), -1, 1)))


def scale_invariant_mse(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """MSE after the best per-channel scale of ``a`` (Grosse et al. 2009): albedo is known up to the light's
    intensity and colour."""
    x, y = a[mask], b[mask]
    scale = (x * y).sum(axis=0) / np.maximum((x * x).sum(axis=0), 1e-12)
    return float(np.mean((x * scale - y) ** 2))


def matte_errors(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Matting benchmark errors (alphamatting.com): SAD / 1000, MSE, gradient error / 1000 (Gaussian
    derivatives, sigma 1.4)."""
    a, b = a.reshape(a.shape[:2]).astype(np.float64), b.reshape(b.shape[:2]).astype(np.float64)

    def grad(x: np.ndarray) -> np.ndarray:
        return np.hypot(gaussian_filter(x, 1.4, order=(0, 1)), gaussian_filter(x, 1.4, order=(1, 0)))

    return {"SAD": float(np.abs(a - b).sum() / 1000), "MSE": float(np.mean((a - b) ** 2)),
            "Grad": float(((grad(a) - grad(b)) ** 2).sum() / 1000)}


FAR = 0.03  # soft alpha farther than this fraction of the diagonal from the 0.5 outline is gross


def gross_matte_error(alpha: np.ndarray) -> dict[str, float]:
    """A matte's gross errors on a photo with no ground truth, as shares of the subject's area (alpha >=
    0.5): enclosed holes (alpha < 0.5 regions that do not reach the frame's edge), detached blobs (alpha
    >= 0.5 regions other than the largest) and far soft alpha (0.05 < alpha < 0.95 farther than FAR of the
    diagonal from the 0.5 outline). A portrait's matte has none of them, whatever its edges' quality."""
    alpha = alpha.reshape(alpha.shape[:2])
    subject = alpha >= 0.5
    area = max(int(subject.sum()), 1)
    holes = binary_fill_holes(subject) & ~subject
    regions, count = label(subject)
    sizes = np.bincount(regions.ravel())[1:]
    blobs = subject & (regions != 1 + int(np.argmax(sizes))) if count > 1 else np.zeros_like(subject)
    outline = subject & ~binary_erosion(subject, border_value=1)
    far = distance_transform_edt(~outline) > FAR * np.hypot(*alpha.shape) if outline.any() else np.ones_like(subject)
    soft = far & (alpha > 0.05) & (alpha < 0.95)
    shares = {"holes": holes.sum() / area, "blobs": blobs.sum() / area, "far soft": soft.sum() / area}
    return {**{k: float(v) for k, v in shares.items()}, "gross": float(sum(shares.values()))}

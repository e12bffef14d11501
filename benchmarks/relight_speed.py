"""Time to relight a 1920x1080 pass stack on this machine, and the ratio against naive integration.

    python benchmarks/relight_speed.py

Cases: (a) HDRI diffuse + specular (light maps already prefiltered, as in a sequence), without and
with the defaults that cost image-space work (key-light shadows, the occlusion pass), (b) three
lights (point, spot, area) with shadows. Goals from issue 4: <= 50 ms and <= 250 ms. (c) The same
stack as a still relit from the command line (a new process: read, light maps, relight, write), with
the light maps prefiltered by that process and found in the light-map cache; goal from issue 20:
<= 1.5 s with the cache. The naive
baseline integrates the environment per pixel over a 128x64 map (what the light maps replace); it is
timed on a sample of pixels in the same process and scaled to the frame, since a full frame would
take minutes.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, timings  # noqa: E402

from relit import data, latlong  # noqa: E402
from relit.environment import light_maps, load_latlong  # noqa: E402
from relit.io import write_passes  # noqa: E402
from relit.lighting import AreaLight, Environment, Lighting, PointLight, SpotLight  # noqa: E402
from relit.passes import PassStack  # noqa: E402
from relit.relight import relight  # noqa: E402
from relit.visibility import OcclusionSettings, ShadowSettings  # noqa: E402

W, H = 1920, 1080


def bust() -> PassStack:
    """An ellipsoid head-and-shoulders silhouette covering about 40% of a 1080p frame, exact normals."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    u, v = (x - W / 2) / (H * 0.3), (y - H * 0.55) / (H * 0.45)
    r2 = u ** 2 + v ** 2
    inside = r2 < 1
    nz = np.sqrt(np.clip(1 - r2, 0, 1))
    n = np.stack([u, -v * 0.66, nz * 0.8 + 0.2], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    n[~inside] = (0, 0, 1)
    return PassStack(alpha=inside.astype(np.float32), normals=n, depth=np.where(inside, 2.0 - 0.3 * nz, 0)[..., None],
                     albedo=np.full((H, W, 3), 0.5, np.float32), metadata={"camera_hfov": "30.0"})


def naive_env_per_pixel(env: np.ndarray, normals: np.ndarray) -> np.ndarray:
    src = latlong.resize_latlong(env, 128, 64).reshape(-1, 3)
    dirs, omega = latlong.latlong_directions(128, 64)
    dirs, omega = dirs.reshape(-1, 3), np.repeat(omega, 128)
    out = np.empty((len(normals), 3), np.float32)
    for i, n in enumerate(normals):  # the per-pixel loop the light maps replace
        out[i] = (np.maximum(dirs @ n, 0) * omega) @ src / np.pi
    return out


def cli_still(stack: PassStack, env: Environment, repeat: int = 3) -> tuple[float, float]:
    """Wall seconds of `relit relight` on the stack as a file: the first run (prefiltering into an empty
    light-map cache) and the best of ``repeat`` after it (found in the cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        write_passes(Path(tmp) / "passes.exr", stack)
        command = [sys.executable, "-m", "relit.cli", "relight", str(Path(tmp) / "passes.exr"), "-o",
                   str(Path(tmp) / "relit.exr"), "--hdri", env.path, "--hdri-colourspace", env.colourspace]
        environ = {**os.environ, "RELIT_CACHE": str(Path(tmp) / "cache")}
        times = []
        for _ in range(repeat + 1):
            start = time.perf_counter()
            subprocess.run(command, env=environ, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times[0], min(times[1:])


def main() -> None:
    os.environ["RELIT_CACHE"] = ""  # prefilter for real in this process
    stack = bust()
    env = Environment(str(data.hdri()), colourspace=data.HDRI_COLOURSPACE)
    start = time.perf_counter()
    light_maps(env)
    prefilter = time.perf_counter() - start
    hdri = Lighting(env)
    lights = Lighting(lights=[PointLight((1.0, 1.0, 0.0), 3.0),
                              SpotLight((-1.0, 1.0, 0.0), (1.0, -1.0, -2.0), 5.0, 30.0),
                              AreaLight((0.0, 1.5, -1.0), (0.0, -1.0, -0.5), (0.5, 0.5), 4.0)])
    t_env, m_env = timings(lambda: relight(stack, hdri, shadows=ShadowSettings(enabled=False),
                                           occlusion=OcclusionSettings(enabled=False)), repeat=9)
    t_env_full, m_env_full = timings(lambda: relight(stack, hdri), repeat=5)
    t_lights, m_lights = timings(lambda: relight(stack, lights), repeat=9)
    covered = int((stack.alpha > 0).sum())
    sample = stack.normals[stack.alpha[..., 0] > 0][:: max(1, covered // 2000)]
    latlong = load_latlong(env)
    start = time.perf_counter()
    naive_env_per_pixel(latlong, sample)
    t_naive = (time.perf_counter() - start) / len(sample) * covered
    print(f"# {machine()}")
    print(f"# 1920x1080, {covered / (W * H):.0%} of pixels covered by the matte")
    print(f"prefilter light maps (once per HDRI and rotation): {prefilter * 1000:8.0f} ms")
    print("best and median of 9 runs (5 for the defaults):")
    rows = [("(a) HDRI diffuse + specular:", t_env, m_env, "goal <= 50 ms"),
            ("    + key-light shadows and occlusion pass (default):", t_env_full, m_env_full, ""),
            ("(b) 3 lights (point, spot, area) + shadows:", t_lights, m_lights, "goal <= 250 ms")]
    for label, best, median, goal in rows:
        print(f"{label:<52} {best * 1000:5.0f} {median * 1000:5.0f} ms   {goal}".rstrip())
    cold, warm = cli_still(stack, env)
    print(f"(c) relit relight, a 1080p still from the command line: {cold:.2f} s prefiltering, {warm:.2f} s with "
          "the light maps cached   goal <= 1.5 s")
    print(f"naive per-pixel environment integration (diffuse only, scaled from {len(sample)} pixels): "
          f"{t_naive:.1f} s; (a) is {t_naive / t_env:.0f}x faster")


if __name__ == "__main__":
    main()

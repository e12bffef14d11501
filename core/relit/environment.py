"""Environments as arrays: loading (cached light maps), views of them as plates, and estimates from a plate."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import PyOpenColorIO as ocio

from . import lightcache
from .camera import Camera
from .colour import Image, config_name, resolve_config, working_space
from .errors import RelitError
from .io import read_image
from .latlong import latlong_directions, resize_latlong, rotate_y, sample_latlong
from .lighting import Environment
from .lightmaps import LightMaps
from .upsample import bilinear


def _read_latlong(path: str, colourspace: str | None, config: ocio.Config) -> np.ndarray:
    image = read_image(path, colourspace, config).to_working()
    if image.width != 2 * image.height:
        raise RelitError(f"a lat-long environment must be twice as wide as tall (2:1), got "
                         f"{image.width}x{image.height}", path)
    return image.pixels[:, :, :3]


def load_latlong(env: Environment, config: ocio.Config | None = None) -> np.ndarray:
    """The environment's radiance in the working space, exposure and tint applied: (H, 2H, 3)."""
    return _read_latlong(env.path, env.colourspace, resolve_config(config)) * env.scale


@lru_cache(maxsize=8)
def _maps(path: str, mtime: float, colourspace: str | None, rotation: float, config: ocio.Config) -> LightMaps:
    """Kept in this process, and on disk for the next (``relit.lightcache``)."""
    name = lightcache.key(path, colourspace, rotation, config_name(config))
    maps = lightcache.load(name)
    if maps is None:
        maps = LightMaps.from_latlong(_read_latlong(path, colourspace, config), rotation)
        lightcache.store(name, maps)
    return maps


def light_maps(env: Environment, config: ocio.Config | None = None) -> LightMaps:
    """Prefiltered maps of the file at the environment's rotation (exposure and tint apply at look-up),
    cached per file and rotation, so a sequence prefilters once."""
    path = Path(env.path)
    if path.is_dir():
        raise RelitError("is a folder; expected a lat-long HDR environment file (.exr, .hdr)", path)
    if not path.is_file():
        raise RelitError("no such environment file", path)
    return _maps(str(path.resolve()), path.stat().st_mtime, env.colourspace, env.rotation, resolve_config(config))


def irradiance_latlong(env: Environment, height: int = 128, config: ocio.Config | None = None) -> np.ndarray:
    """The environment's diffuse light (irradiance / pi) for every normal direction, as an unrotated
    lat-long (height, 2 * height, 3) in the working space, exposure and tint not applied: what a DCC's
    interactive relight looks up at the normal turned by -rotation (relit's exact convolution, sampled)."""
    maps = light_maps(Environment(env.path, colourspace=env.colourspace), config)
    dirs, _ = latlong_directions(2 * height, height)
    flat = maps.irradiance(dirs.reshape(-1, 3))
    return flat.reshape(height, 2 * height, 3).astype(np.float32)


def view(latlong: np.ndarray, camera: Camera, height: int, width: int, rotation: float = 0.0) -> np.ndarray:
    """What a camera looking down -Z sees of the environment: a background plate consistent with the lighting."""
    if camera.orthographic:
        raise RelitError("a view of the environment needs a perspective camera (hfov > 0)")
    rays = -camera.view_vectors(height, width)
    return sample_latlong(latlong, rotate_y(rays, -rotation))


def estimate_from_background(plate: Image, camera: Camera, size: int = 256) -> Image:
    """A plausible lat-long environment from a background photo (Total Relighting's environment estimate,
    done geometrically rather than learned).

    The plate fills the directions its camera sees (the front, -Z). The rest of the sphere, which the
    plate cannot show but which lights the subject's face (+Z, behind the camera), is the plate mirrored
    and blurred, with the sky above and the ground below taken from the plate's top and bottom rows.
    It keeps the plate's colour and brightness, so the subject matches it; it cannot know a sun behind
    the camera.
    """
    if camera.orthographic:
        raise RelitError("estimating an environment from a plate needs its camera's field of view (hfov > 0)")
    px = plate.to_working().pixels[:, :, :3]
    h, w = px.shape[:2]
    dirs, _ = latlong_directions(2 * size, size)
    tan_x = camera.frame_width(1.0) / 2
    tan_y = tan_x * h / w
    # Fold every direction into the front hemisphere: behind the camera mirrors the front.
    dz = -np.abs(dirs[..., 2]) - 1e-3
    nx = dirs[..., 0] / (-dz * tan_x)
    ny = dirs[..., 1] / (-dz * tan_y)
    col = np.clip((nx + 1) / 2 * w - 0.5, 0, w - 1)
    row = np.clip((1 - ny) / 2 * h - 0.5, 0, h - 1)  # out-of-frame rows clamp to the plate's top/bottom
    sharp = bilinear(px, row, col)
    blurred = bilinear(resize_latlong(px, 16, 16), row * 16 / h, col * 16 / w)
    behind = np.clip((dirs[..., 2:3] + 0.2) / 0.4, 0, 1)  # smooth seam at the side
    latlong = sharp * (1 - behind) + blurred * behind
    return Image(latlong.astype(np.float32), working_space(plate.config), plate.config)

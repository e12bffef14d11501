"""What lights the subject: an HDR environment and user-placed lights, serialisable to JSON.

Units follow Mitsuba 3's emitters so a scene can be checked against a path tracer:
directional ``irradiance`` (W/m^2 on a surface facing the light), point and spot ``intensity``
(W/sr), area ``radiance`` (W/m^2/sr). Positions and directions are in camera space
(+X right, +Y up, +Z toward the camera), in the scene units of the depth pass.
Colours are linear RGB in the working space.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Union

import numpy as np

from .errors import RelitError

Vec3 = tuple[float, float, float]


def _vec3(value: object, what: str) -> Vec3:
    try:
        vec = tuple(float(v) for v in value)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise RelitError(f"{what} must be three numbers, got {value!r}") from None
    if len(vec) != 3 or not all(math.isfinite(v) for v in vec):
        raise RelitError(f"{what} must be three finite numbers, got {value!r}")
    return vec  # type: ignore[return-value]


def _unit(value: object, what: str) -> Vec3:
    vec = np.array(_vec3(value, what))
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:
        raise RelitError(f"{what} must not be the zero vector")
    return tuple(float(v) for v in vec / norm)  # type: ignore[return-value]


def _non_negative(value: float, what: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise RelitError(f"{what} must be a finite number >= 0, got {value}")
    return value


@dataclass
class Environment:
    """A lat-long HDR environment, oriented like Mitsuba's ``envmap``: image centre column looks along +Z
    (toward the camera, i.e. behind it), +Y is the top row. ``rotation`` turns it about +Y, in degrees."""

    path: str
    rotation: float = 0.0
    exposure: float = 0.0  # stops
    tint: Vec3 = (1.0, 1.0, 1.0)
    colourspace: str | None = None  # of the file; None infers it from the file

    def __post_init__(self) -> None:
        self.path = os.fspath(self.path)
        self.rotation = float(self.rotation)
        self.exposure = float(self.exposure)
        self.tint = _vec3(self.tint, "environment tint")

    @property
    def scale(self) -> np.ndarray:
        return np.float32(2.0 ** self.exposure) * np.asarray(self.tint, np.float32)


@dataclass
class DirectionalLight:
    direction: Vec3  # toward the light
    irradiance: float = 1.0
    colour: Vec3 = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        self.direction = _unit(self.direction, "directional light direction")
        self.irradiance = _non_negative(self.irradiance, "directional light irradiance")
        self.colour = _vec3(self.colour, "light colour")


@dataclass
class PointLight:
    position: Vec3
    intensity: float = 1.0
    colour: Vec3 = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        self.position = _vec3(self.position, "point light position")
        self.intensity = _non_negative(self.intensity, "point light intensity")
        self.colour = _vec3(self.colour, "light colour")


@dataclass
class SpotLight:
    """Mitsuba's ``spot``: full intensity inside ``beam_width``, linear falloff in angle to ``cutoff_angle``."""

    position: Vec3
    direction: Vec3  # where the spot points
    intensity: float = 1.0
    cutoff_angle: float = 20.0  # degrees
    beam_width: float | None = None  # degrees; Mitsuba's default is 3/4 of the cutoff
    colour: Vec3 = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        self.position = _vec3(self.position, "spot light position")
        self.direction = _unit(self.direction, "spot light direction")
        self.intensity = _non_negative(self.intensity, "spot light intensity")
        self.cutoff_angle = float(self.cutoff_angle)
        if self.beam_width is None:
            self.beam_width = 0.75 * self.cutoff_angle
        self.beam_width = float(self.beam_width)
        if not 0 < self.beam_width <= self.cutoff_angle < 90:
            raise RelitError(f"spot light needs 0 < beam_width <= cutoff_angle < 90 degrees, "
                             f"got {self.beam_width} and {self.cutoff_angle}")
        self.colour = _vec3(self.colour, "light colour")


@dataclass
class AreaLight:
    """A one-sided emitting rectangle of ``size`` (width along ``up`` x ``direction``, height along ``up``)
    centred at ``position``, emitting toward ``direction``."""

    position: Vec3
    direction: Vec3  # the side that emits
    size: tuple[float, float] = (1.0, 1.0)
    radiance: float = 1.0
    up: Vec3 = (0.0, 1.0, 0.0)
    colour: Vec3 = (1.0, 1.0, 1.0)

    def __post_init__(self) -> None:
        self.position = _vec3(self.position, "area light position")
        self.direction = _unit(self.direction, "area light direction")
        self.up = _unit(self.up, "area light up")
        if abs(float(np.dot(self.direction, self.up))) > 0.999:
            raise RelitError("area light up must not be parallel to its direction")
        w, h = (float(s) for s in self.size)
        if not (w > 0 and h > 0):
            raise RelitError(f"area light size must be two positive numbers, got {self.size}")
        self.size = (w, h)
        self.radiance = _non_negative(self.radiance, "area light radiance")
        self.colour = _vec3(self.colour, "light colour")

    def corners(self) -> np.ndarray:
        """(4, 3) corners, counter-clockwise seen from the lit side."""
        n = np.asarray(self.direction)
        v = np.asarray(self.up) - n * np.dot(self.up, n)
        v /= np.linalg.norm(v)
        u = np.cross(v, n)
        c = np.asarray(self.position)
        hw, hh = self.size[0] / 2, self.size[1] / 2
        return np.stack([c - u * hw - v * hh, c + u * hw - v * hh, c + u * hw + v * hh, c - u * hw + v * hh])


Light = Union[DirectionalLight, PointLight, SpotLight, AreaLight]
LIGHT_TYPES: dict[str, type] = {"directional": DirectionalLight, "point": PointLight, "spot": SpotLight,
                                "area": AreaLight}
_TYPE_NAMES = {cls: name for name, cls in LIGHT_TYPES.items()}


@dataclass
class Lighting:
    environment: Environment | None = None
    lights: list[Light] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "environment": None if self.environment is None else asdict(self.environment),
            "lights": [{"type": _TYPE_NAMES[type(light)], **asdict(light)} for light in self.lights],
        }


SYNONYMS = {"color": "colour", "intensity": "irradiance", "irradiance": "intensity", "dir": "direction",
            "pos": "position"}  # what a field is often called elsewhere


def light_from_dict(data: object, source: str = "light") -> Light:
    if not isinstance(data, dict) or "type" not in data:
        raise RelitError(f"{source}: a light is a JSON object with a \"type\" of {', '.join(LIGHT_TYPES)}")
    data = dict(data)
    kind = data.pop("type")
    cls = LIGHT_TYPES.get(kind)
    if cls is None:
        raise RelitError(f"{source}: unknown light type {kind!r}; expected one of {', '.join(LIGHT_TYPES)}")
    known = [f.name for f in fields(cls)]
    unknown = [k for k in data if k not in known]
    missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in data]
    if unknown or missing:
        what = [f"unknown field {k!r}" + (f" (did you mean {SYNONYMS[k]!r}?)" if SYNONYMS.get(k) in known else "")
                for k in unknown]
        what += [f"missing field {k!r}" for k in missing]
        raise RelitError(f"{source}: a {kind} light: {'; '.join(what)}; its fields are {', '.join(known)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise RelitError(f"{source}: bad {kind} light fields ({exc})") from None
    except RelitError as exc:
        raise RelitError(f"{source}: {exc}") from None


def lighting_from_dict(data: object, source: str = "lighting") -> Lighting:
    if not isinstance(data, dict):
        raise RelitError(f"{source}: expected a JSON object with \"environment\" and/or \"lights\"")
    env = data.get("environment")
    lights = data.get("lights", [])
    if not isinstance(lights, list):
        raise RelitError(f"{source}: \"lights\" must be a list")
    try:
        environment = None if env is None else Environment(**env)
    except TypeError as exc:
        raise RelitError(f"{source}: bad environment fields ({exc})") from None
    return Lighting(environment, [light_from_dict(light, source) for light in lights])


def load_lights(text_or_path: str) -> list[Light]:
    """A CLI ``--light`` value: inline JSON or a JSON file, holding one light, a list, or a Lighting object."""
    path = Path(text_or_path)
    source = text_or_path
    if not text_or_path.lstrip().startswith(("{", "[")):
        if not path.is_file():
            raise RelitError("no such light JSON file", path)
        text_or_path = path.read_text()
    try:
        data = json.loads(text_or_path)
    except json.JSONDecodeError as exc:
        raise RelitError(f"{source}: invalid light JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if isinstance(data, dict) and "lights" in data:
        return lighting_from_dict(data, source).lights
    items = data if isinstance(data, list) else [data]
    return [light_from_dict(item, source) for item in items]

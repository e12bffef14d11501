"""Prefiltered light maps kept on disk, so a new process (a still relit from the command line, a farm node)
does not prefilter an HDRI again: most of a still's time was building them.

An entry is keyed by the HDRI file's bytes, its colourspace, the rotation, the OCIO config and the light
maps' own settings (``FORMAT``), so nothing stale is ever found. The folder is ``$RELIT_CACHE`` (a folder the
user names, shared by processes and farm nodes; empty turns the cache off), else the user's cache folder.
Entries are written atomically and the folder is kept under ``$RELIT_CACHE_MB`` (default 1024) by removing
the entries used longest ago.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .errors import RelitError
from .io import atomic_path
from .lightmaps import (
    DIFFUSE_OCT,
    KEY_MAX,
    KEY_SHADOW_SAMPLES,
    KEY_SHADOW_SPACING,
    KEY_SHARE,
    KEY_SOURCE_SIZE,
    SPECULAR_OCT,
    SPECULAR_ROUGHNESS,
    KeyLight,
    LightMaps,
)

# what the maps depend on besides their inputs: a change of these (or of this version) is another entry
FORMAT = repr((4, DIFFUSE_OCT, SPECULAR_OCT, SPECULAR_ROUGHNESS, KEY_SHARE, KEY_MAX, KEY_SOURCE_SIZE,
               KEY_SHADOW_SAMPLES, KEY_SHADOW_SPACING))
DEFAULT_MB = 1024


def folder() -> Path | None:
    """Where entries live, or None when ``$RELIT_CACHE`` is set empty."""
    named = os.environ.get("RELIT_CACHE")
    if named is not None:
        return Path(named) if named else None
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "relit" / "lightmaps"


def key(path: str, colourspace: str | None, rotation: float, config: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest.update(repr((colourspace, float(rotation), config, FORMAT)).encode())
    return digest.hexdigest()


def load(name: str) -> LightMaps | None:
    """The entry, or None when there is none (or it cannot be read: it is made again)."""
    where = folder()
    path = where / f"{name}.npz" if where else None
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            starts = np.cumsum(np.concatenate([[0], data["key_counts"]]))
            keys = [KeyLight(data["key_directions"][a:b], t)
                    for a, b, t in zip(starts[:-1], starts[1:], data["key_diffuse"])]
            maps = LightMaps(data["diffuse"], data["specular"], float(data["rotation"]), data["residual_diffuse"],
                             keys)
    except (OSError, ValueError, KeyError):
        return None
    os.utime(path)  # used now: pruning removes the entries used longest ago
    return maps


def store(name: str, maps: LightMaps) -> None:
    """Write the entry atomically (another process may read or write the same one), then prune. A folder
    that cannot be written only costs the next process the prefiltering."""
    where = folder()
    if where is None:
        return
    try:
        where.mkdir(parents=True, exist_ok=True)
        with atomic_path(where / f"{name}.npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, diffuse=maps.diffuse, specular=maps.specular, rotation=maps.rotation,
                     residual_diffuse=maps.residual_diffuse,
                     key_directions=np.concatenate([k.directions for k in maps.keys] or [np.zeros((0, 3))])
                     .astype(np.float32),
                     key_counts=np.array([len(k.directions) for k in maps.keys], np.int64),
                     key_diffuse=np.array([k.diffuse for k in maps.keys], np.float32).reshape(-1, *maps.diffuse.shape))
    except (OSError, RelitError):
        return
    prune(where, int(float(os.environ.get("RELIT_CACHE_MB") or DEFAULT_MB) * 2 ** 20))


def prune(where: Path, limit: int) -> None:
    """Remove the entries used longest ago until the folder holds at most ``limit`` bytes."""
    entries = []
    for path in where.glob("*.npz"):
        try:
            stat = path.stat()
        except OSError:
            continue
        entries.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries):
        if total <= limit:
            break
        path.unlink(missing_ok=True)
        total -= size

"""Light maps kept on disk between processes (relit.lightcache): found again by the same HDRI, rotation and
settings only, equal to the maps they stand for, written atomically, bounded, and never in the way."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from relit import data, lightcache
from relit.environment import _maps, light_maps
from relit.lighting import Environment
from relit.lightmaps import KEY_SHADOW_SAMPLES, LightMaps


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("RELIT_CACHE", str(folder))
    _maps.cache_clear()  # this process's own cache would hide the disk's
    yield folder
    _maps.cache_clear()


def _equal(a: LightMaps, b: LightMaps) -> bool:
    return (all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("diffuse", "specular", "residual_diffuse"))
            and a.rotation == b.rotation and len(a.keys) == len(b.keys)
            and all(np.array_equal(k.directions, m.directions) and np.array_equal(k.diffuse, m.diffuse)
                    for k, m in zip(a.keys, b.keys)))


def test_a_new_process_finds_the_maps_and_they_are_the_same(cache, tmp_path, monkeypatch):
    hdri = tmp_path / "studio.exr"
    shutil.copyfile(data.path("studio.exr"), hdri)
    made = light_maps(Environment(str(hdri), rotation=30))
    (entry,) = cache.glob("*.npz")
    _maps.cache_clear()  # as a new process

    def prefilter(*args, **kwargs):
        raise AssertionError("prefiltered again")

    monkeypatch.setattr(LightMaps, "from_latlong", prefilter)
    found = light_maps(Environment(str(hdri), rotation=30))
    assert _equal(found, made) and found.keys  # the studio HDRI has key lights: they round-trip too
    # another rotation, or the same file with other pixels, is another entry
    monkeypatch.undo()
    monkeypatch.setenv("RELIT_CACHE", str(cache))
    light_maps(Environment(str(hdri), rotation=31))
    assert len(list(cache.glob("*.npz"))) == 2
    _maps.cache_clear()
    shutil.copyfile(data.path("courtyard.exr"), hdri)
    light_maps(Environment(str(hdri), rotation=30))
    assert len(list(cache.glob("*.npz"))) == 3 and entry.exists()


def test_key_lights_with_several_shadow_directions_round_trip(cache):
    """A setting sun's glow is a key light with several shadow directions, the sun itself one: each key's
    own directions come back."""
    env = Environment(str(Path(__file__).resolve().parents[2] / "shared" / "assets" / "hdri" / "sunset.exr"),
                      colourspace="lin_rec709_srgb")
    made = light_maps(env)
    _maps.cache_clear()
    found = light_maps(env)
    assert found is not made and _equal(found, made)
    assert sorted(len(k.directions) for k in found.keys) == [1, KEY_SHADOW_SAMPLES]


def test_a_bad_entry_is_made_again_and_an_unwritable_folder_is_no_error(cache, tmp_path, monkeypatch):
    env = Environment(data.path("studio.exr"))
    name = lightcache.key(env.path, env.colourspace, env.rotation, "x")
    cache.mkdir()
    (cache / f"{name}.npz").write_bytes(b"cut short")
    assert lightcache.load(name) is None
    monkeypatch.setenv("RELIT_CACHE", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a folder")
    assert light_maps(env).diffuse.shape[1] == 3  # computed, not stored, no error
    monkeypatch.setenv("RELIT_CACHE", "")  # off
    _maps.cache_clear()
    light_maps(env)
    assert lightcache.folder() is None


def test_the_folder_keeps_to_its_size_by_dropping_the_least_recently_used(tmp_path):
    for i, age in enumerate((300, 100, 200)):
        path = tmp_path / f"{i}.npz"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1e9 - age, 1e9 - age))
    lightcache.prune(tmp_path, 2000)
    assert sorted(p.name for p in tmp_path.glob("*.npz")) == ["1.npz", "2.npz"]  # the oldest went


def test_relight_checks_its_output_folder_before_computing(cache, tmp_path):
    from relit.io import write_passes
    from tests.conftest import sphere_stack
    from tests.test_cli import relit
    write_passes(tmp_path / "p.exr", sphere_stack(8))
    result = relit("relight", tmp_path / "p.exr", "-o", tmp_path / "nowhere" / "out.exr", "--hdri",
                   data.path("studio.exr"))
    assert result.returncode == 1 and "cannot write: folder" in result.stderr
    assert not cache.exists()  # no light maps were made for an output that could not be written

import json

import pytest

from relit.errors import RelitError
from relit.lighting import (
    AreaLight,
    DirectionalLight,
    Environment,
    Lighting,
    PointLight,
    SpotLight,
    lighting_from_dict,
    load_lights,
)


def test_lighting_json_round_trip():
    lighting = Lighting(Environment("env.exr", rotation=45, exposure=-1, tint=(1, 0.9, 0.8)),
                        [DirectionalLight((0, 0, 2), 3.0), PointLight((1, 2, 3), 5.0, (1, 0, 0)),
                         SpotLight((0, 1, 1), (0, 0, -1), 2.0, 30.0), AreaLight((0, 1, 1), (0, 0, -1), (2, 1), 4.0)])
    back = lighting_from_dict(json.loads(json.dumps(lighting.to_dict())))
    assert back == lighting
    assert back.lights[0].direction == (0.0, 0.0, 1.0)  # normalised
    assert back.lights[2].beam_width == pytest.approx(22.5)  # Mitsuba's default: 3/4 of the cutoff


def test_load_lights_inline_and_file(tmp_path):
    path = tmp_path / "lights.json"
    path.write_text(json.dumps([{"type": "point", "position": [0, 0, 1], "intensity": 2}]))
    assert load_lights(str(path))[0].intensity == 2
    assert isinstance(load_lights('{"type": "directional", "direction": [1, 0, 0]}')[0], DirectionalLight)


@pytest.mark.parametrize("text, message", [
    ('{"type": "laser"}', "unknown light type 'laser'"),
    ('{"type": "point", "position": [0, 0]}', "point light position must be three finite numbers"),
    ('{"type": "point", "position": [0, 0, 1], "intensity": -1}', "intensity must be a finite number >= 0"),
    ('{"type": "point", "position": [0, 0, 1], "radius": 2}',
     "a point light: unknown field 'radius'; its fields are position, intensity, colour"),
    ('{"type": "spot", "direction": [0, 0, -1]}', "a spot light: missing field 'position'"),
    ('{"type": "spot", "position": [0, 0, 1], "direction": [0, 0, -1], "cutoff_angle": 95}', "cutoff_angle < 90"),
    ('{"type": "directional", "direction": [0, 0, 0]}', "must not be the zero vector"),
    ('{"type": "point", ', "invalid light JSON"),
    ('[1, 2]', "a light is a JSON object"),
])
def test_invalid_light_json(text, message):
    with pytest.raises(RelitError, match=message):
        load_lights(text)


def test_missing_light_file(tmp_path):
    with pytest.raises(RelitError, match=r"nolight\.json: no such light JSON file"):
        load_lights(str(tmp_path / "nolight.json"))

"""The stage's wardrobe: what is drawn and how often, where each garment sits on the posed person, and a
dressed render."""
import json

import numpy as np
import pytest

pytest.importorskip("anny")

from scipy.spatial import cKDTree  # noqa: E402

from relit.stage import wardrobe as wardrobes  # noqa: E402
from relit.stage.hair import beard, strands  # noqa: E402
from relit.stage.look import region_mask, sample_look  # noqa: E402
from relit.stage.person import REGIONS, head_frame, sample_person  # noqa: E402
from relit.stage.wardrobe import CHANCE, draw_items, glasses, hat, jacket, tie  # noqa: E402


@pytest.fixture(scope="module")
def person():
    rng = np.random.default_rng(3)
    return sample_person(rng), sample_look(rng)


def _skin(person):
    return person.vertices[np.unique(person.faces[person.region == REGIONS.index("skin")])]


def test_items_are_drawn_at_their_chances():
    draws = [draw_items(np.random.default_rng(seed), gender=0.9) for seed in range(2000)]
    for item, chance in CHANCE.items():
        expected = chance * (CHANCE["collar"] if item == "tie" else 1.0)
        # 2000 draws: a share's standard deviation is at most 0.011; 0.035 is over three of them
        assert abs(np.mean([d[item] for d in draws]) - expected) < 0.035, item
    assert all(d["collar"] for d in draws if d["tie"])
    assert not any(draw_items(np.random.default_rng(seed), gender=0.3)["beard"] for seed in range(300))


def test_the_head_frame_follows_the_posed_head(person):
    """Origin between the corneas, right along them, forward out of the face: the nose tip is ahead of the
    origin and the lips below it."""
    p, _ = person
    frame = head_frame(p)
    assert np.allclose(np.stack([frame.right, frame.up, frame.forward]) @ np.stack([frame.right, frame.up,
                                                                                      frame.forward]).T,
                       np.eye(3), atol=1e-5)
    skin = frame.local(_skin(p))
    near_mid = skin[np.abs(skin[:, 0]) < 0.01]
    nose = near_mid[np.argmax(near_mid[:, 2])]
    assert 0.02 < nose[2] < 0.045 and -0.05 < nose[1] < -0.025  # four people: 30-34 mm ahead, 37-41 below
    lips = frame.local(frame.lips)
    assert abs(lips[0]) < 0.005 and -0.09 < lips[1] < -0.05 and abs(lips[2]) < 0.02


def test_glasses_sit_before_the_eyes_clear_of_the_face(person):
    p, _ = person
    frame = head_frame(p)
    mesh = glasses(p, frame, np.random.default_rng(0))
    local = frame.local(mesh.vertices)
    distance, _ = cKDTree(_skin(p)).query(mesh.vertices)
    front = np.abs(local[:, 0]) < 0.05  # the rims and bridge, not the arms running back to the ears
    assert distance[front].min() > 0.0015  # clear of cheeks and nose (four people: 2.5-2.9 mm)
    assert local[front, 2].min() > 0.008 and abs(local[front, 0].mean()) < 0.003  # ahead of the eyes, centred
    assert local[:, 2].min() < -0.08  # the arms reach back toward the ears


def test_a_tie_hangs_down_the_chest_on_the_shirt(person):
    p, _ = person
    neck = wardrobes._neckline(p)
    mesh = tie(p, neck, np.random.default_rng(0))
    v = mesh.vertices
    assert abs(v[:, 0].mean()) < 0.01 and np.ptp(v[:, 0]) < 0.1  # on the midline, a tie's width
    assert v[:, 1].max() < neck + 0.04 and v[:, 1].min() < neck - 0.35  # from the collar down the chest
    body = p.vertices[p.vertices[:, 2] > 0]
    surface = wardrobes._front_surface(v, body)
    on = np.isfinite(surface)
    assert on.mean() > 0.9 and (v[on, 2] > surface[on] - 0.0045).all()  # never inside the body (4 mm plate)


def test_a_jacket_is_outside_the_shirt_and_open_at_the_front(person):
    p, _ = person
    neck = wardrobes._neckline(p)
    mesh = jacket(p, neck, np.random.default_rng(0))
    cloth = p.vertices[np.unique(p.faces[p.region == REGIONS.index("cloth")])]
    distance, _ = cKDTree(cloth).query(mesh.vertices)
    assert np.median(distance) > 0.01  # a shell off the shirt
    centre = mesh.vertices[mesh.faces].mean(axis=1)
    v_neck = (np.abs(centre[:, 0]) < 0.02) & (centre[:, 1] > neck - 0.1) & (centre[:, 2] > 0.05)
    assert not v_neck.any()  # the V shows the shirt (and tie) below the neck


def test_a_hat_covers_the_crown_and_holds_the_hair_under_it(person):
    p, look = person
    frame = head_frame(p)
    line = (0.05, 0.04)
    shell, brim = hat(p, frame, line, np.random.default_rng(1))
    local = frame.local(shell.vertices)
    skin = frame.local(_skin(p))
    assert local[:, 1].max() > skin[:, 1].max() + 0.005 and local[:, 1].min() > -0.03  # over the crown only
    hair = strands(p, look, np.random.default_rng(2), 2000)
    dressed = wardrobes.Wardrobe(hat_line=line, frame=frame).visible_hair(hair)
    assert 0 < len(dressed) < len(hair)
    assert not wardrobes._under_hat(frame.local(dressed[:, 0]), line).any()


def test_a_beard_grows_on_the_lower_face_and_leaves_the_lips(person):
    p, _ = person
    frame = head_frame(p)
    hairs = beard(p, frame, np.random.default_rng(0), 3000, (0.005, 0.01))
    roots = frame.local(hairs[:, 0])
    lips = frame.local(frame.lips)
    assert len(hairs) == 3000 and roots[:, 1].max() < 0 and np.abs(roots[:, 0]).max() < 0.08
    assert (roots[:, 1] < lips[1]).mean() > 0.5  # mostly jaw and chin
    tree = cKDTree(p.vertices)
    _, nearest = tree.query(hairs[:, 0])
    on_lips = [region_mask("lips", p.uvs[p.faces == v].reshape(-1, 2)).max() > 0.8 for v in nearest[:300]]
    assert np.mean(on_lips) < 0.05
    assert (np.linalg.norm(hairs[:, -1] - hairs[:, 0], axis=1) > 0.004).all()  # they stand off the skin


def test_a_dressed_render_is_sound_and_the_same_person(monkeypatch):
    """Everything on: the render passes the stage's defect check, the garments show in the roughness pass
    and leave the skin mask, and the person, look and light are those of the undressed render."""
    from relit import data
    from relit.stage.job import MAX_BAD_SHARE, defects
    from relit.stage.sample import render_sample
    from relit.stage.scene import skin_mask
    monkeypatch.setattr(wardrobes, "CHANCE", dict.fromkeys(CHANCE, 1.0))
    seed = 4  # anny's gender 0.72: bearded
    plain, dressed = (render_sample(seed, [str(data.hdri())], res=64, spp=4, lightings=1, wardrobe=share)[0]
                      for share in (0.0, 1.0))
    for key in ("person", "look", "lighting", "shot"):
        assert plain.metadata[key] == dressed.metadata[key]
    worn = json.loads(dressed.metadata["wardrobe"])
    assert {"beard", "collar", "glasses", "hat", "jacket", "tie"} <= set(worn["items"])
    assert json.loads(plain.metadata["wardrobe"])["items"] == []
    assert defects(dressed) <= MAX_BAD_SHARE
    solid = dressed.alpha[..., 0] > 0.99
    for garment in ("jacket", "hat"):
        assert (np.abs(dressed.roughness[..., 0] - worn["roughness"][garment]) < 0.005)[solid].mean() > 0.01
    assert skin_mask(dressed).sum() < 0.8 * skin_mask(plain).sum()


def test_a_cut_follows_the_edge_line_and_keeps_the_area_inside():
    """A unit square of triangles cut along a slanted line: what is kept is exactly the half-plane's area,
    the new edge lies on the line, and every kept triangle keeps the square's winding."""
    n = 6
    y, x = np.mgrid[0:n + 1, 0:n + 1] / n
    vertices = np.stack([x.ravel(), y.ravel(), np.zeros(x.size)], -1).astype(np.float32)
    i, j = np.mgrid[0:n, 0:n]
    a, b, c, d = i * (n + 1) + j, i * (n + 1) + j + 1, (i + 1) * (n + 1) + j + 1, (i + 1) * (n + 1) + j
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([a, c, d], -1).reshape(-1, 3)])
    mesh = wardrobes.Mesh(vertices, faces.astype(np.int32), np.zeros((len(faces), 3, 2), np.float32),
                          np.tile(np.float32([0, 0, 1]), (len(vertices), 1)))
    line = vertices[:, 1] - (0.3 + 0.25 * vertices[:, 0])  # keep what is above y = 0.3 + x/4
    cut = wardrobes._cut(mesh, line)
    tri = cut.vertices[cut.faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])[:, 2]
    assert (cross > -1e-9).all()  # the winding (and so the normals' side) is kept
    assert abs(cross.sum() / 2 - (1 - 0.3 - 0.125)) < 1e-5
    kept = cut.vertices[np.unique(cut.faces)]
    assert (kept[:, 1] - (0.3 + 0.25 * kept[:, 0]) > -1e-6).all()

"""The stage's raised hands: how often and where they are drawn, where the posed hand ends up on a real
anny body, and the manifest of a render with them."""
import json

import numpy as np
import pytest

pytest.importorskip("anny")

from relit import data  # noqa: E402
from relit.io import read_metadata  # noqa: E402
from relit.stage.hands import JITTER, PLACES, HandPose, sample_hand  # noqa: E402
from relit.stage.job import render_stage  # noqa: E402
from relit.stage.person import REGIONS, head_frame, sample_person  # noqa: E402


def test_hands_are_drawn_at_their_share_on_both_sides():
    drawn = [sample_hand(seed, 0.3) for seed in range(2000)]
    raised = [hand for hand in drawn if hand is not None]
    # 2000 draws: the share's standard deviation is 0.010; 0.035 is over three of them
    assert abs(len(raised) / len(drawn) - 0.3) < 0.035
    assert {hand.place for hand in raised} == set(PLACES) and {hand.side for hand in raised} == {"L", "R"}
    for hand in raised:  # the person's left is the image's right (+X of the head frame)
        centre = PLACES[hand.place][0]
        x = centre[0] if hand.side == "L" else -centre[0]
        assert abs(hand.local[0] - x) <= JITTER + 1e-9 and abs(np.linalg.norm(hand.fingers) - 1) < 1e-9
    assert all(sample_hand(seed, 0.0) is None for seed in range(200))


@pytest.fixture(scope="module")
def people():
    """One seed's person as drawn, and with the left hand raised to the chin (a place in front of the face,
    where no part of the body is unless the hand is)."""
    plain_rng, raised_rng = np.random.default_rng(7), np.random.default_rng(7)
    centre, fingers = PLACES["chin"]
    hand = HandPose("L", "chin", centre, tuple(np.array(fingers) / np.linalg.norm(fingers)))
    return sample_person(plain_rng), sample_person(raised_rng, hand), hand, (plain_rng, raised_rng)


def _near(person, point, radius):
    return np.linalg.norm(person.vertices - point, axis=1) < radius


def test_the_raised_hand_reaches_its_place_and_nothing_else_moves(people):
    plain, raised, hand, (plain_rng, raised_rng) = people
    frame = head_frame(raised)
    target = frame.body(np.asarray(hand.local))
    skin = np.zeros(len(raised.vertices), bool)
    skin[raised.faces[raised.region == REGIONS.index("skin")].ravel()] = True
    # the hand's centre is in the palm, about a centimetre inside its skin: skin within 3 cm of the place
    assert (_near(raised, target, 0.03) & skin).sum() > 20
    assert not _near(plain, target, 0.05).any()
    assert raised.params["hand"]["miss"] < 0.015  # the search's own figure, in anny's frame
    # it is the left hand (the image's right of the face's midline)
    assert frame.local(raised.vertices[_near(raised, target, 0.03)])[:, 0].mean() > -0.01
    # the head did not move (relit's origin stays where the arms-down body puts it) and the hand drew
    # nothing from the person's generator (what a seed draws next is the same)
    eyes = REGIONS.index("eye_front")
    np.testing.assert_array_equal(raised.vertices[raised.faces[raised.region == eyes]],
                                  plain.vertices[plain.faces[plain.region == eyes]])
    assert plain_rng.uniform() == raised_rng.uniform()


def test_the_raised_sleeve_stays_cloth(people):
    """Where clothes end is decided on the arms-down body: raised to the chin, the forearm is still sleeve
    up to the wrist (decided on the posed body, its upper part would be bare skin)."""
    plain, raised, hand, _ = people
    assert len(raised.faces) == len(plain.faces)  # both arms were inside the crop already
    np.testing.assert_array_equal(np.bincount(raised.region, minlength=len(REGIONS)),
                                  np.bincount(plain.region, minlength=len(REGIONS)))
    target = head_frame(raised).body(np.asarray(hand.local))
    near = np.linalg.norm(raised.vertices[raised.faces].mean(axis=1) - target, axis=1) < 0.15
    assert (raised.region[near] == REGIONS.index("cloth")).sum() > 50  # the sleeve reaches up to the hand


def test_a_render_with_hands_records_them(tmp_path):
    manifest = render_stage(tmp_path / "stage", count=1, res=32, spp=4, seed=3, hdri_dir=data.path(""), workers=1,
                            lightings=1, hands=1.0)
    assert manifest["hands"] == 1.0
    [sample] = manifest["samples"]
    assert sample["hand"] in PLACES
    person = json.loads(read_metadata(tmp_path / "stage" / sample["file"])["person"])
    assert person["hand"]["place"] == sample["hand"] and person["hand"]["miss"] < 0.02

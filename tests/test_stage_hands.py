"""The stage's raised hands and folded arms: how often and where they are drawn, where the posed hands end
up on a real anny body, that garments are laid on the arms-down body, and the manifest of a render with
them."""
import json

import numpy as np
import pytest

pytest.importorskip("anny")

from relit import data  # noqa: E402
from relit.io import read_metadata  # noqa: E402
from relit.stage.hands import FOLDED, FOLDED_PLACE, JITTER, OVER, PLACES, hand_pose, sample_arms, sample_hand  # noqa: E402
from relit.stage.job import render_stage  # noqa: E402
from relit.stage.person import REGIONS, head_frame, sample_person  # noqa: E402
from relit.stage.wardrobe import _neckline, tie  # noqa: E402


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
    hand = hand_pose("L", "chin", *PLACES["chin"])
    return sample_person(plain_rng), sample_person(raised_rng, (hand,)), hand, (plain_rng, raised_rng)


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
    assert raised.params["hands"][0]["miss"] < 0.015  # the search's own figure, in anny's frame
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
    [hand] = person["hands"]
    assert hand["place"] == sample["hand"] and hand["miss"] < 0.02


def test_folded_arms_are_drawn_at_their_share_either_arm_on_top():
    drawn = [sample_arms(seed, 0.3) for seed in range(2000)]
    folded = [arms for arms in drawn if arms]
    assert abs(len(folded) / len(drawn) - 0.3) < 0.035  # as for the hands' share, above
    on_top = set()
    for left, right in folded:
        assert (left.side, right.side, left.place, right.place) == ("L", "R", FOLDED, FOLDED)
        # each hand goes to the other arm: the left hand inward of the right shoulder, mirrored for the right
        assert abs(left.local[0] + right.local[0]) <= 2 * JITTER + 1e-9
        assert left.fingers[0] < 0 < right.fingers[0]
        over = left if left.local[2] > right.local[2] else right
        assert over.local[1] - FOLDED_PLACE[0][1] > OVER[1] - JITTER - 1e-9  # the one in front is higher
        on_top.add(over.side)
    assert on_top == {"L", "R"}
    assert all(sample_arms(seed, 0.0) == () for seed in range(200))


@pytest.fixture(scope="module")
def folded():
    """Seed 7's person as drawn, and with its arms folded (neither on top)."""
    hands = tuple(hand_pose(side, FOLDED, *FOLDED_PLACE) for side in ("L", "R"))
    return sample_person(np.random.default_rng(7)), sample_person(np.random.default_rng(7), hands)


def test_folded_arms_cross_in_front_of_the_chest(folded):
    plain, person = folded
    assert all(hand["miss"] < 0.015 for hand in person.params["hands"])
    skin = np.zeros(len(person.vertices), bool)
    skin[person.faces[person.region == REGIONS.index("skin")].ravel()] = True
    moved = np.linalg.norm(person.vertices - plain.vertices, axis=1) > 0.05
    hands = moved & skin  # the hands are the skin that moved (the forearms are sleeves)
    for side, sign in (("L", 1.0), ("R", -1.0)):
        # the person's left is relit's +X: each hand has crossed to the other side of the midline
        mine = hands & (np.sign(plain.vertices[:, 0]) == sign)
        assert mine.sum() > 100 and np.median(person.vertices[mine, 0]) * sign < -0.05
    # in front of the chest: the moved skin is farther forward than the arms-down body at its height
    chest = np.abs(plain.vertices[:, 0]) < 0.1
    for y, z in person.vertices[hands][::25, 1:]:
        level = chest & (np.abs(plain.vertices[:, 1] - y) < 0.02)
        if level.any():
            assert z > plain.vertices[level, 2].max() - 0.01


def test_garments_lie_on_the_arms_down_body(folded):
    """A tie under folded arms hangs on the chest as it would with the arms down (laid on the posed body
    it would lie over the forearms), and the neckline does not move."""
    plain, person = folded
    neck = _neckline(plain)
    assert _neckline(person) == neck
    plain_tie, folded_tie = (tie(p, neck, np.random.default_rng(1)) for p in (plain, person))
    np.testing.assert_array_equal(folded_tie.vertices, plain_tie.vertices)


def test_folded_arms_are_framed_from_the_waist_up():
    from relit.stage.sample import HALF_BODY, HEAD_AND_SHOULDERS, showing_the_arms
    from relit.stage.scene import Shot
    for end in (0, 1):  # each end of the head-and-shoulders ranges goes to that end of the half body's
        shot = Shot(30.0, HEAD_AND_SHOULDERS[0][end], -12.0, HEAD_AND_SHOULDERS[1][end])
        wide = showing_the_arms(shot)
        assert wide.frame_height == pytest.approx(HALF_BODY[0][end]) and wide.tilt == pytest.approx(HALF_BODY[1][end])
        assert (wide.hfov, wide.yaw, wide.framing) == (30.0, -12.0, "half body")
    for shot in (Shot(18.0, 0.2, 3.0, 0.07), Shot(30.0, 0.8, 3.0, 0.3)):  # a close-up, a half-body shot
        assert showing_the_arms(shot) == shot


def test_a_render_with_folded_arms_records_them(tmp_path):
    manifest = render_stage(tmp_path / "stage", count=1, res=32, spp=4, seed=3, hdri_dir=data.path(""), workers=1,
                            lightings=1, hands=1.0, arms=1.0)
    assert manifest["arms"] == 1.0
    [sample] = manifest["samples"]
    assert sample["hand"] == FOLDED  # folded arms replace the raised hand
    assert sample["framing"] != "head and shoulders"
    person = json.loads(read_metadata(tmp_path / "stage" / sample["file"])["person"])
    assert [hand["side"] for hand in person["hands"]] == ["L", "R"]
    assert all(hand["place"] == FOLDED and hand["miss"] < 0.02 for hand in person["hands"])


def test_a_raised_hand_grows_no_beard(people):
    """A beard's roots are spread over the jaw of the arms-down body: a hand raised to the chin, inside the
    beard's zone, gets none, and the roots are the ones the person has with the arms down (the strands
    leave the skin along the posed body's normals, which the raised arm's skinning bends a little)."""
    from relit.stage.hair import beard
    plain, raised, _, _ = people
    strands = [beard(p, head_frame(p), np.random.default_rng(2), 400, (0.003, 0.01)) for p in (plain, raised)]
    np.testing.assert_allclose(strands[1][:, 0], strands[0][:, 0], atol=1e-3)

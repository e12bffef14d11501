"""Print relit.stage.hands.STARTS: for each place and side, the arm's rotations that bring one person's
hand there, searched from the hanging arm for long enough to settle (each person's own search then
starts from them and needs far fewer steps).

    .venv/bin/python scripts/hand_starts.py
"""
import numpy as np

from relit.stage.hands import PLACES, HandPose
from relit.stage.person import sample_person

SEED, STEPS = 0, 400  # one person of the stage's draws; steps from the hanging arm


def main() -> None:
    print("STARTS = {")
    for place, (centre, fingers) in PLACES.items():
        for side in ("L", "R"):
            mirror = np.array([1.0 if side == "L" else -1.0, 1.0, 1.0])
            hand = HandPose(side, place, tuple(np.array(centre) * mirror),
                            tuple(np.array(fingers) * mirror / np.linalg.norm(fingers)))
            person = sample_person(np.random.default_rng(SEED), hand, steps=STEPS)
            found = person.params["hand"]
            print(f'    ("{place}", "{side}"): {found["rotations"]},  # miss {found["miss"] * 100:.1f} cm')
    print("}")


if __name__ == "__main__":
    main()

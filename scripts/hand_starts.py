"""Print relit.stage.hands.STARTS: for each place and side, the arm's rotations that bring one person's
hand there, searched for long enough to settle from the table's own entry (from the hanging arm where
it has none); each person's own search then starts from them and needs far fewer steps. Folded arms
are searched as a pair, with neither forearm on top (the OVER offset is left out).

    .venv/bin/python scripts/hand_starts.py
"""
import numpy as np

from relit.stage.hands import FOLDED, FOLDED_PLACE, PLACES, hand_pose
from relit.stage.person import sample_person

SEED, STEPS = 0, 400  # one person of the stage's draws; steps from the hanging arm


def main() -> None:
    searches = [(hand_pose(side, place, *PLACES[place]),) for place in PLACES for side in ("L", "R")]
    searches.append(tuple(hand_pose(side, FOLDED, *FOLDED_PLACE) for side in ("L", "R")))
    print("STARTS = {")
    for hands in searches:
        person = sample_person(np.random.default_rng(SEED), hands, steps=STEPS)
        for found in person.params["hands"]:
            print(f'    ("{found["place"]}", "{found["side"]}"): {found["rotations"]},  # miss '
                  f'{found["miss"] * 100:.1f} cm')
    print("}")


if __name__ == "__main__":
    main()

"""``relit eval --mattes``: gross matte errors of real portraits, as a user runs it on the bundled ones."""
import json
import shutil

import pytest

from relit import data
from relit.models import WEIGHTS
from tests.test_cli import relit

PORTRAIT = data.portrait()  # Grace Hopper: a dark tie on a dark uniform, where the network's matte holes


def test_eval_mattes_prints_and_records_the_table(tmp_path):
    """Per portrait, holes + blobs + far soft alpha: the network alone holes on the tie (10.5% of the subject
    measured; over 5% here so a matte that holes again cannot pass), the priors fill it (0.07% measured;
    under the 1% goal). Recorded in a copy of the model's card under "portrait mattes"."""
    for name in ("passes.onnx", "passes.json"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    model = tmp_path / "passes.onnx"
    for flag, key in (("--priors", "portrait mattes"), ("--no-priors", "portrait mattes, network alone")):
        args = ["eval", "--mattes", PORTRAIT, "--model", model, "--json", tmp_path / "t.json", "--record"]
        result = relit(*args, *([flag] if flag == "--no-priors" else []))
        assert result.returncode == 0, result.stderr
        assert "gross matte errors" in result.stdout and "portrait.jpg" in result.stdout
        tables = json.loads((tmp_path / "t.json").read_text())
        row = tables["gross matte errors (% of the subject's area)"]["portrait.jpg"]
        assert row["gross"] == pytest.approx(row["holes"] + row["blobs"] + row["far soft"])
        assert json.loads((tmp_path / "passes.json").read_text())["evaluation"][key]["results"] == tables
        clean = tables["portraits with clean mattes"]["at or under 1% gross"]
        if flag == "--no-priors":
            assert row["holes"] > 2 and row["gross"] > 5 and clean == {"portraits": 0.0, "of": 1.0}
        else:
            assert row["gross"] < 1 and clean == {"portraits": 1.0, "of": 1.0}


@pytest.mark.parametrize("args, message", [
    (["--mattes", "missing.jpg"], "missing.jpg: no such photo or folder"),
    (["--mattes", "empty"], "empty: no photos ("),
])
def test_eval_mattes_errors_are_one_line(tmp_path, args, message):
    (tmp_path / "empty").mkdir()
    result = relit("eval", *args, cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr

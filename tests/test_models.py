"""Real ONNX sessions on a tiny model written by the onnx package (no mocks)."""
import logging

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from relit.colour import Image
from relit.errors import RelitError
from relit.models import _session, providers, run, session


@pytest.fixture
def doubler(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Add", ["image", "image"], ["out"])], "double",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, None, None])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, None, None])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "double.onnx"
    onnx.save(model, path)
    return path


def test_session_runs_nchw_images_and_logs_its_provider(doubler, caplog, config):
    image = Image(np.random.default_rng(0).random((4, 5, 3)), "ACEScg", config)
    _session.cache_clear()
    with caplog.at_level(logging.INFO, logger="relit.models"):
        model = session(doubler)
    (out,) = run(model, image=image.pixels.transpose(2, 0, 1)[None])
    assert out.shape == (1, 3, 4, 5) and np.allclose(out[0].transpose(1, 2, 0), 2 * image.pixels)
    assert f"double.onnx runs on {model.get_providers()[0]}" in caplog.text
    assert session(doubler) is model  # cached: one session per model file


def test_cpu_is_always_available_and_cuda_only_when_installed():
    assert providers()[-1] == "CPUExecutionProvider"
    assert providers("cpu") == ["CPUExecutionProvider"]
    import onnxruntime as ort
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(RelitError, match="install onnxruntime-gpu"):
            providers("cuda")
    else:
        assert providers()[0] == "CUDAExecutionProvider"


def test_bad_models_and_inputs(tmp_path, doubler):
    with pytest.raises(RelitError, match=r"nothing\.onnx: no such ONNX model"):
        session(tmp_path / "nothing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(RelitError, match=r"junk\.onnx: not a usable ONNX model"):
        session(junk)
    with pytest.raises(RelitError, match=r"model inputs are \['image'\], got \['plate'\]"):
        run(session(doubler), plate=np.zeros((1, 3, 2, 2)))
    with pytest.raises(RelitError, match="inference failed"):
        run(session(doubler), image=np.zeros((1, 4, 2, 2)))


def test_a_passes_model_whose_card_gives_another_layout_is_refused(tmp_path):
    """Inference reads the passes network's channels by the layout in relit.layout; a network trained with
    another (more passes, another order) says so in its card and is refused by name, not misread."""
    import json
    import shutil

    from relit.estimate import MIRROR_SIGNS, PassesModel
    from relit.layout import ALBEDO, NORMALS, OUTPUTS
    shipped = PassesModel.load()
    assert json.loads(shipped.card.read_text())["outputs"] == OUTPUTS  # the shipped card says the same
    assert MIRROR_SIGNS[NORMALS.start] == -1 and MIRROR_SIGNS.sum() == len(MIRROR_SIGNS) - 2
    assert (ALBEDO.start, ALBEDO.stop) == (4, 7)
    for outputs in ({"normals": 3, "alpha": 1, "albedo": 3, "roughness": 1},
                    {**OUTPUTS, "specular_strength": 1}):
        shutil.copyfile(shipped.path, tmp_path / "other.onnx")
        card = json.loads(shipped.card.read_text())
        (tmp_path / "other.json").write_text(json.dumps({**card, "outputs": outputs}))
        with pytest.raises(RelitError, match=r"other\.json: the card's outputs .* are not the layout this relit"):
            PassesModel.load(tmp_path / "other.onnx")

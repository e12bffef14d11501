"""The shading network: its training cache from real stage renders, resume, export (ONNX == torch), and
the refined light in ``relight`` and ``relit relight --shading-model``."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from relit.lighting import Environment, Lighting  # noqa: E402
from relit.models import run, session  # noqa: E402
from relit.relight import relight  # noqa: E402
from relit.shading import FEATURES, ShadingModel, refine  # noqa: E402
from relit.train.loop import RunSettings, export  # noqa: E402
from relit.train.net import ShadingNet  # noqa: E402
from relit.train.shading import CACHE_SIZE, CHECKPOINT, loss, train_shading  # noqa: E402


@pytest.fixture(scope="module")
def trained(stage, tmp_path_factory):
    folder, _ = stage
    out = tmp_path_factory.mktemp("shading")
    ckpt = train_shading(folder, out, RunSettings(steps=2, batch=2, res=64, checkpoint_every=1))
    return folder, out, ckpt


def test_the_cache_pairs_each_persons_lightings_both_ways(trained):
    _, out, _ = trained
    files = sorted(p.name for p in (out / "cache").glob("*.npy"))
    assert files == [f"{i:06d}_{d}_{k}.npy" for i in (0, 1) for d in ("0to1", "1to0") for k in ("exact", "network")]
    x = np.load(out / "cache" / files[0]).astype(np.float32)
    assert x.shape == (FEATURES + 3, CACHE_SIZE, CACHE_SIZE)
    subject = x[0] > 0.5
    assert np.allclose(np.linalg.norm(x[1:4][:, subject], axis=0), 1, atol=2e-2)  # unit normals (half floats)
    # the exact passes relit by the engine are close to the path-traced target, and gains of 1 give that error
    t = torch.from_numpy(x[None])
    terms = loss(torch.ones(1, 6, CACHE_SIZE, CACHE_SIZE), t)
    assert torch.isclose(terms["relit"], terms["engine"]) and float(terms["engine"]) < 0.5


def test_training_resumes_and_exports_an_onnx_model_that_matches_torch(trained, tmp_path):
    folder, out, ckpt = trained
    first = torch.load(ckpt, weights_only=False)
    assert first["step"] == 2 and first["kind"] == "shading" and first["data"]["examples"] == 8
    train_shading(folder, out, RunSettings(steps=3, batch=2, res=64, checkpoint_every=1))
    resumed = torch.load(out / CHECKPOINT, weights_only=False)
    assert resumed["step"] == 3 and resumed["history"][:2] == first["history"]
    card = export(out / CHECKPOINT, tmp_path / "shading.onnx", internal=64, version="test")
    assert json.loads((tmp_path / "shading.json").read_text()) == card and card["steps"] == 3
    net = ShadingNet(tuple(card["widths"]))
    net.load_state_dict(resumed["model"])
    net.eval()
    x = np.random.default_rng(0).random((1, FEATURES, 40, 72), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    got = run(session(tmp_path / "shading.onnx", "cpu"), features=x)[0]
    assert float(np.abs(got - expected).max()) <= 1e-4
    assert got.min() >= np.exp(-2) - 1e-6 and got.max() <= np.exp(2) + 1e-6


def test_relight_refines_the_light_and_keeps_relit_consistent(trained, tmp_path, sphere):
    from relit import data
    _, out, _ = trained
    export(out / CHECKPOINT, tmp_path / "shading.onnx", internal=32, version="test")
    model = ShadingModel.load(tmp_path / "shading.onnx")
    lighting = Lighting(Environment(str(data.hdri()), colourspace=data.HDRI_COLOURSPACE))
    engine = relight(sphere, lighting)
    refined = refine(engine, model)
    assert refined.metadata["shading"] == "relit shading network test"
    assert not np.allclose(refined.diffuse, engine.diffuse)
    assert np.allclose(refined.relit, refined.albedo * refined.diffuse + refined.specular, atol=1e-5)
    inside = sphere.alpha[..., 0] > 0
    ratio = refined.diffuse[inside].mean() / engine.diffuse[inside].mean()
    assert np.exp(-2) < ratio < np.exp(2)


def test_the_cli_relights_with_the_shading_network(trained, tmp_path, sphere, capsys):
    from relit import data
    from relit.cli import main
    from relit.io import read_passes, write_passes
    _, out, _ = trained
    export(out / CHECKPOINT, tmp_path / "shading.onnx", internal=32, version="test")
    write_passes(tmp_path / "passes.exr", sphere)
    assert main(["relight", str(tmp_path / "passes.exr"), "--hdri", str(data.hdri()), "--shading-model",
                 str(tmp_path / "shading.onnx"), "-o", str(tmp_path / "out.exr")]) == 0
    assert read_passes(tmp_path / "out.exr").metadata["shading"] == "relit shading network test"
    capsys.readouterr()
    assert main(["relight", str(tmp_path / "passes.exr"), "--hdri", str(data.hdri()), "--shading-model",
                 str(tmp_path / "missing.onnx"), "-o", str(tmp_path / "out2.exr")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.onnx" in err and "no such ONNX model" in err


def test_eval_reports_the_shading_network_beside_the_engine(trained, stage_validation, tmp_path):
    from relit.evaluate import evaluate
    _, out, _ = trained
    export(out / CHECKPOINT, tmp_path / "shading.onnx", internal=64, version="test")
    tables = evaluate(stage_validation, shading=ShadingModel.load(tmp_path / "shading.onnx"))
    for table in ("relit", "reconstruction (own lighting)"):
        assert {"network", "network + shading network", "exact passes + shading network"} <= set(tables[table])
        assert all(np.isfinite(v) for v in tables[table]["network + shading network"].values())

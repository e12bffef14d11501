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
from relit.train.export import export  # noqa: E402
from relit.train.net import ShadingNet  # noqa: E402
from relit.train.run import RunSettings  # noqa: E402
from relit.train.shading import CACHE_SIZE, CHECKPOINT, loss, train_shading  # noqa: E402


@pytest.fixture(scope="module")
def trained(stage, tmp_path_factory):
    folder, _ = stage
    out = tmp_path_factory.mktemp("shading")
    ckpt = train_shading(folder, out, RunSettings(steps=2, batch=2, res=64, checkpoint_every=1))
    return folder, out, ckpt


def _constant_model(checkpoint, output, bias):
    """A shading network whose head gives ``bias`` everywhere (its weights zeroed), exported to ONNX: known
    gains exp(2 tanh(bias / 2)) for every pixel, whatever the input."""
    state = torch.load(checkpoint, weights_only=False)
    state["model"]["head.weight"].zero_()
    state["model"]["head.bias"] = torch.tensor(bias, dtype=torch.float32)
    torch.save(state, output.with_suffix(".pt"))
    export(output.with_suffix(".pt"), output, internal=32, version="test")
    return output


def _bias(gain):
    """The head's output that the network turns into ``gain``."""
    return 2 * float(np.arctanh(np.log(gain) / 2))


def test_the_cache_pairs_each_persons_lightings_both_ways(trained):
    _, out, _ = trained
    files = sorted(p.name for p in (out / "cache").glob("*.npy"))
    assert files == [f"{i:06d}_{d}_{k}.npy" for i in (0, 1) for d in ("0to1", "1to0") for k in ("exact", "network")]
    x = np.load(out / "cache" / files[0]).astype(np.float32)
    assert x.shape == (FEATURES + 3, CACHE_SIZE, CACHE_SIZE)
    subject = x[0] > 0.5
    assert np.allclose(np.linalg.norm(x[1:4][:, subject], axis=0), 1, atol=2e-2)  # unit normals (half floats)
    # gains of 1 give the engine's error: the exact passes relit by the engine against the path-traced target
    # (measured 0.085; 0.069-0.086 over the four exact examples). 0.1 leaves 15% for the path tracer's float
    # differences across CPUs; the engine's light 1.1x too bright reads 0.109.
    t = torch.from_numpy(x[None])
    terms = loss(torch.ones(1, 6, CACHE_SIZE, CACHE_SIZE), t)
    assert torch.isclose(terms["relit"], terms["engine"]) and float(terms["engine"]) < 0.1
    assert float(loss(torch.full((1, 6, CACHE_SIZE, CACHE_SIZE), 1.1), t)["relit"]) > 0.1
    # the gains that turn the engine's light into the target's (from the layout FEATURES documents, not the
    # loss's own slices) bring the loss to zero (measured 4e-9): a channel read from the wrong slice would not
    albedo, diffuse, specular, truth = x[4:7], np.expm1(x[8:11]), np.expm1(x[11:14]), x[FEATURES:]
    assert (albedo * diffuse)[:, subject].min() > 1e-4
    oracle = np.concatenate([(truth - specular) / np.maximum(albedo * diffuse, 1e-4), np.ones_like(truth)])
    assert float(loss(torch.from_numpy(oracle[None]), t)["relit"]) < 1e-6


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
    # the exported graph keeps the clip: a head driven far past it gives exactly exp(+-2), not exp(+-50)
    clipped = run(session(_constant_model(out / CHECKPOINT, tmp_path / "clipped.onnx", [50, -50, 0, 0, 0, 0]),
                          "cpu"), features=x)[0]
    assert np.allclose(clipped[0, :3], [[[np.exp(2)]], [[np.exp(-2)]], [[1.0]]], rtol=1e-6)


def test_relight_refines_the_light_and_keeps_relit_consistent(trained, tmp_path, sphere):
    """A network of known gains (diffuse x2, specular x0.5): each light gets its own gain, relit is made again
    from the engine's light so refined, and nothing leaves the matte. Swapped gains, a stale relit or the
    gains applied once too often would each be off by 2x or more where the tolerance is 1e-4."""
    from relit import data
    _, out, _ = trained
    bias = [_bias(2.0)] * 3 + [_bias(0.5)] * 3
    model = ShadingModel.load(_constant_model(out / CHECKPOINT, tmp_path / "shading.onnx", bias))
    lighting = Lighting(Environment(str(data.hdri()), colourspace=data.HDRI_COLOURSPACE))
    engine = relight(sphere, lighting)
    refined = refine(engine, model)
    assert refined.metadata["shading"] == "relit shading network test"
    inside = sphere.alpha[..., 0] > 0
    assert engine.specular[inside].mean() > 0.005  # a highlight to check (measured 0.0096; diffuse 0.34)
    # grey gains commute with the colour conversions to and from the network's Rec.709 (float32: 1e-6)
    assert np.allclose(refined.diffuse, 2 * engine.diffuse, rtol=1e-4, atol=1e-6)
    assert np.allclose(refined.specular, 0.5 * engine.specular, rtol=1e-4, atol=1e-6)
    expected = sphere.albedo * 2 * engine.diffuse + 0.5 * engine.specular
    assert np.allclose(refined.relit[inside], expected[inside], rtol=1e-4, atol=1e-6)
    far = engine.diffuse.max(-1) == 0  # beyond the few pixels the engine carries its light past the matte
    assert (far & ~inside).any() and not refined.relit[far].any() and not refined.diffuse[far].any()
    assert refined.relit[~inside & ~far].min() > 0  # carried past the matte too


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
    # a network of gains 1 (head bias 0): its rows must give the plain engine's figures for the same passes
    # (measured: equal to 4 decimals); gains of 1.05 move them 0.22-0.31 dB, a row refining the other
    # candidate's light 8 dB
    identity = _constant_model(out / CHECKPOINT, tmp_path / "shading.onnx", [0.0] * 6)
    tables = evaluate(stage_validation, shading=ShadingModel.load(identity))
    for table in ("relit", "reconstruction (own lighting)"):
        rows = tables[table]
        assert {"network", "network + shading network", "exact passes + shading network"} <= set(rows)
        for refined, plain in (("network + shading network", "network"),
                               ("exact passes + shading network", "exact passes (engine bound)")):
            assert rows[refined]["PSNR"] == pytest.approx(rows[plain]["PSNR"], abs=0.01), (table, refined)
            assert rows[refined]["SSIM"] == pytest.approx(rows[plain]["SSIM"], abs=1e-4), (table, refined)
        # the two candidates differ by far more than that (measured 8.5 dB relit, 8.0 dB reconstruction)
        assert abs(rows["network"]["PSNR"] - rows["exact passes (engine bound)"]["PSNR"]) > 1.0

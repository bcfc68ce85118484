"""The bundled model, the torchvision path and weights files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from dreamer.core.tensors import to_tensor
from dreamer.engine import Engine
from dreamer.engine import engine as engine_module
from dreamer.errors import DreamerError
from dreamer.nets import precision, zoo
from dreamer.nets.lite0 import EfficientNetLite0, convert_lukemelas_keys
from dreamer.nets.modelspec import Registry
from dreamer.nets.registry import get_model, get_spec, list_models
from dreamer.nets.summary import layer_table, list_layers
from dreamer.nets.weights import read_state_dict
from dreamer.nets.wrapper import DreamModel
from dreamer.nets.zoo import lite_weights_path
from dreamer.outputs.images import load_image
from dreamer.samples import sample_path
from dreamer.spec.specs import RunEnv, VisSpec


def test_own_lite0_gives_timm_logits() -> None:
    timm = pytest.importorskip("timm")
    state = convert_lukemelas_keys(torch.load(lite_weights_path(0), weights_only=True))
    ours = EfficientNetLite0().eval()
    ours.load_state_dict(state, strict=True)
    ref = timm.create_model("tf_efficientnet_lite0", pretrained=False).eval()
    ref.load_state_dict(state, strict=True)
    for size in [(224, 224), (97, 131)]:  # odd sizes exercise TF "same" padding
        x = torch.randn(2, 3, *size)
        with torch.no_grad():
            assert torch.allclose(ours(x), ref(x), atol=1e-5, rtol=0)


def test_bundled_model_classifies_real_photos(real_model) -> None:
    expected = {"chelsea": {"tabby", "tiger cat", "Egyptian cat"}, "coffee": {"espresso", "cup", "coffee mug"}}
    for name, classes in expected.items():
        image = to_tensor(load_image(sample_path(name)).rgb.resize((224, 224)))
        top = [c for c, _ in real_model.classify(image, top=3)]
        assert classes & set(top), (name, top)


def test_model_is_frozen_in_eval_mode(real_model) -> None:
    assert not real_model.net.training
    assert all(not p.requires_grad for p in real_model.net.parameters())


def test_unknown_model_suggests_close_names() -> None:
    with pytest.raises(DreamerError, match="did you mean.*googlenet"):
        get_model("googlnet")


def test_unknown_layer_suggests_close_names(random_model) -> None:
    with pytest.raises(DreamerError, match="did you mean.*blocks.4"):
        random_model.module("block.4")


def test_weights_file_loads_state_dict_and_checkpoint(tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = EfficientNetLite0()
    plain, ckpt = tmp_path / "plain.pth", tmp_path / "ckpt.pth"
    torch.save(net.state_dict(), plain)
    torch.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}, "epoch": 3}, ckpt)
    for path in (plain, ckpt):
        model = get_model("lite0", weights=str(path), device="cpu", precision="fp32")
        assert torch.equal(model.net.classifier.weight, net.classifier.weight)
        assert model.weights == str(path)


def test_weights_mismatch_names_first_missing_and_unexpected_keys(tmp_path: Path) -> None:
    state = EfficientNetLite0().state_dict()
    state["extra.weight"] = state.pop("classifier.bias")
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(DreamerError, match=r"missing \(first: classifier.bias\).*unexpected \(first: extra.weight\)"):
        get_model("lite0", weights=str(path), device="cpu")


class _RunsCode:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_weights_that_would_run_code_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pth"
    torch.save({"x": _RunsCode()}, path)
    with pytest.raises(DreamerError, match="could run code.*weights_only=True"):
        read_state_dict(path)


def test_weights_file_that_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.pth"
    path.write_text("hello")
    with pytest.raises(DreamerError, match="not a PyTorch checkpoint"):
        read_state_dict(path)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps([1, 2, 3]))
    with pytest.raises(DreamerError, match=str(raw)):
        read_state_dict(raw)


def test_torchvision_model_from_preplaced_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A torchvision model loads from TORCH_HOME with no network; its normalisation comes from the weights."""
    import torchvision.models as tvm

    home = tmp_path / "home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    weights = tvm.get_model_weights("mobilenet_v2").DEFAULT
    (home / "hub" / "checkpoints").mkdir(parents=True)
    torch.manual_seed(2)
    reference = tvm.mobilenet_v2()
    torch.save(reference.state_dict(), home / "hub" / "checkpoints" / Path(weights.url).name)
    model = get_model("mobilenet_v2", device="cpu", precision="fp32")
    assert torch.equal(model.net.classifier[1].weight, reference.classifier[1].weight)
    assert model.spec.mean == pytest.approx((0.485, 0.456, 0.406))
    assert model.spec.dream_layers[0] == "features.13"
    assert len(model.spec.categories) == 1000


def test_torchvision_download_failure_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*_args, **_kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(DreamerError) as info:
        get_model("googlenet", device="cpu")
    message = str(info.value)
    assert "\n" not in message
    assert "(model lite0)" in message and "weights FILE" in message and "checkpoints" in message


def test_fp32_visualisation_after_a_bf16_dream_gets_the_exact_fp32_weights(
    monkeypatch: pytest.MonkeyPatch, cat_image
) -> None:
    """auto: bf16 dreams, fp32 visualisations; the fp32 copy comes from the fp32 master, not the rounded bf16 one."""
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    engine = Engine(device="cpu")
    engine.dream(cat_image, steps=1, octaves=1, max_side=32, seed=0)
    vis = engine.plan(VisSpec(size=32, steps=1)).model
    assert (engine.model("lite0").precision, vis.precision) == ("bf16", "fp32")
    reference = get_model("lite0", device="cpu", precision="fp32").net.state_dict()
    weights = vis.net.state_dict()
    assert weights.keys() == reference.keys()
    assert [k for k in reference if not torch.equal(weights[k], reference[k])] == []


def test_the_engine_builds_each_model_once_and_places_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    built = []
    monkeypatch.setattr(
        engine_module, "build", lambda spec, weights=None: built.append(spec.name) or spec.architecture()
    )
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    engine = Engine(device="cpu")
    dream, vis = engine.model("lite0"), engine.model("lite0", work="visualize")
    assert built == ["lite0"] and (dream.precision, vis.precision) == ("bf16", "fp32")
    assert engine.model("lite0") is dream and dream.net is not vis.net


def test_a_cast_from_rounded_weights_is_refused(random_model) -> None:
    bf16 = random_model.with_precision("bf16")
    assert bf16.with_precision("bf16") is bf16
    with pytest.raises(DreamerError, match="at bf16: casting it to fp32 would keep its rounded weights"):
        bf16.with_precision("fp32")


def test_precision_defaults_to_auto_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """RunEnv, the engine, get_model and DreamModel all resolve the same default through one function."""
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    assert RunEnv().precision == "auto"
    assert Engine(device="cpu").precision == "bf16"
    assert DreamModel(EfficientNetLite0(), get_spec("lite0"), "cpu").precision == "bf16"
    assert get_model("lite0", device="cpu").precision == "bf16"


def test_a_model_name_registered_twice_is_an_error() -> None:
    models = Registry()
    models.register("mine")(zoo.lite0)
    with pytest.raises(ValueError, match="'mine' is already registered"):
        models.register("mine")(zoo.lite1)
    with pytest.raises(ValueError, match="'lite0' is already registered"):
        zoo.register_model("lite0")(zoo.lite1)
    assert models.names() == ["mine"] and models.spec("mine").name == "lite0" and models.spec("other") is None


def test_the_registry_serves_the_lite_family_and_every_torchvision_classifier() -> None:
    import torchvision.models as tvm

    names = list_models()
    assert names[:3] == ["lite0", "lite1", "lite2"] and set(tvm.list_models(module=tvm)) <= set(names)
    assert len(names) == len(set(names))
    lite0, lite1 = get_spec("lite0"), get_spec("lite1")
    assert lite0.dream_layer == "blocks.4" and lite0.display_name == "EfficientNet-Lite0 (lite0)"
    assert lite1.stages == lite0.stages and lite1.input_size == 240 and len(lite1.categories) == 1000
    assert get_spec("googlenet").dream_layer == "inception4c"  # recommended layers live in the specs
    assert get_spec("resnet18").dream_layers == () and get_spec("resnet18").dream_layer is None


def test_the_default_model_is_spelled_once() -> None:
    """Every module names the bundled model through DEFAULT_MODEL (``dreamer.spec.specs``)."""
    package = Path(__file__).parents[1] / "dreamer"
    spelled = [str(p.relative_to(package)) for p in package.rglob("*.py") if '"lite0"' in p.read_text("utf-8")]
    assert spelled == ["spec/specs.py"]


def test_one_layer_lister_for_the_table_the_studio_and_the_lesson(random_model) -> None:
    from dreamer.lecture import figures
    from dreamer.studio.layers import layer_names

    assert [x.name for x in list_layers(random_model)] == random_model.layer_names()[:-1]  # all but logits
    ran = [(x.name, x.shape) for x in list_layers(random_model, (64, 96))]
    names = [n for n, _ in ran]
    assert names.index("blocks.0.0") < names.index("blocks.0") < names.index("blocks.1.0.conv_pw")  # as they ran
    assert dict(ran)["blocks.4"] == (112, 4, 6) and dict(ran)["classifier"] == (1000,)
    stages = [f"blocks.{i}" for i in range(7)]
    assert layer_names(random_model) == ["conv_stem", "bn1", "act1", *stages, "conv_head", "bn2", "act2"]
    table = layer_table(random_model, size=64)
    assert table.lines()[8] == "blocks.4     112x4x4 * (default)" and "(default) = what -l" in table.lines()[0]
    assert [r.name for r in table if r.default] == ["blocks.4"] and sum(r.recommended for r in table) == 4
    assert figures.anatomy(random_model) == figures.Anatomy("conv_stem", "bn1", "act1", tuple(stages), "conv_head")

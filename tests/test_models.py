"""The bundled model, the torchvision path and weights files."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from dreamer.core.tensors import to_tensor
from dreamer.errors import DreamerError
from dreamer.nets.lite0 import EfficientNetLite0, convert_lukemelas_keys
from dreamer.nets.registry import _lite0_weights_path, get_model, read_state_dict
from dreamer.outputs.images import load_image
from dreamer.samples import sample_path


def test_own_lite0_gives_timm_logits() -> None:
    timm = pytest.importorskip("timm")
    state = convert_lukemelas_keys(torch.load(_lite0_weights_path(), weights_only=True))
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
        model = get_model("lite0", weights=str(path), device="cpu")
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
    model = get_model("mobilenet_v2", device="cpu")
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

"""Fast paths are exact where they claim to be: batch-norm folding, reduced precision, loss scaling."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from dreamer.cli import cli
from dreamer.core.ascent import image_gradient
from dreamer.core.objectives import layer
from dreamer.engine import Engine
from dreamer.errors import DreamerError
from dreamer.nets import kernels, lite0
from dreamer.nets.fold import conv_bn_pairs, fold_batchnorm
from dreamer.nets.hooks import LayerHooks
from dreamer.nets.kernels import Conv2dSame
from dreamer.nets.lite0 import EfficientNetLite0
from dreamer.nets.precision import DTYPES, cpu_has_native_bf16, place, strided_depthwise_in_fp32
from dreamer.nets.registry import get_spec
from dreamer.nets.wrapper import DreamModel
from dreamer.runners.heap import keep_freed_memory
from dreamer.spec.specs import PRECISION_CHOICES


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0))


def _relative(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def unfolded_real() -> DreamModel:
    """The bundled model without folding, to compare the default (folded) one against."""
    spec = get_spec("lite0")
    return DreamModel(spec.build(), spec, torch.device("cpu"), precision="fp32", fold_bn=False)


def test_folded_batchnorm_gives_the_same_activations(real_model: DreamModel, unfolded_real: DreamModel) -> None:
    assert len(real_model.folded) == 49  # every conv -> bn pair of Lite0
    assert isinstance(real_model.module("blocks.4.0.bn1"), nn.Identity)
    # stage outputs, a folded conv's own output, a folded bn's name, the stem, the logits
    names = ["blocks.2", "blocks.4", "blocks.3.1.conv_pw", "blocks.3.1.bn1", "conv_stem", "bn1", "logits"]
    image = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    with LayerHooks(real_model, names) as fast, LayerHooks(unfolded_real, names) as plain:
        got, want = fast(image), plain(image)
    for name in names:
        assert got[name].shape == want[name].shape
        assert _relative(got[name], want[name]) < 1e-4, name


def test_folded_batchnorm_gives_the_same_gradient(real_model: DreamModel, unfolded_real: DreamModel) -> None:
    objective = layer("blocks.4") + layer("blocks.3.0.conv_pw")  # a folded conv as a target too
    image = torch.rand(1, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    with LayerHooks(real_model, objective.layers) as fast, LayerHooks(unfolded_real, objective.layers) as plain:
        got, _ = image_gradient(fast, objective, image)
        want, _ = image_gradient(plain, objective, image)
    assert _cos(got, want) > 0.9999
    assert _relative(got, want) < 1e-3


def _randomise_batchnorm(net: nn.Module) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
    return net.eval().requires_grad_(False)


@pytest.mark.parametrize("name", ["googlenet", "densenet121"])
def test_fold_follows_the_data_flow_of_torchvision_models(name: str) -> None:
    import torchvision.models as tvm

    extra = {"aux_logits": False, "init_weights": False} if name == "googlenet" else {}
    torch.manual_seed(0)
    net = _randomise_batchnorm(tvm.get_model(name, weights=None, **extra))
    bns = sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    pairs = conv_bn_pairs(net)
    image = torch.rand(1, 3, 96, 96)
    with torch.no_grad():
        want = net(image)
        folded = fold_batchnorm(net)
        got = net(image)
    assert set(folded) == {c for c, _ in pairs}
    if name == "googlenet":  # every BasicConv2d is conv -> bn
        assert len(pairs) == bns == 57
    else:  # DenseNet's norm1 reads a concatenation and transition outputs: those must stay
        assert 0 < len(pairs) < bns
        assert all(b.endswith("norm2") or b == "features.norm0" for _, b in pairs)  # stem and in-layer pairs
    assert _relative(got, want) < 1e-4


def test_bf16_gradient_points_where_fp32_does(real_model: DreamModel) -> None:
    bf16 = real_model.with_precision("bf16")
    assert bf16.dtype == torch.bfloat16 and next(bf16.net.parameters()).dtype == torch.bfloat16
    assert next(real_model.net.parameters()).dtype == torch.float32  # the fp32 model is untouched
    objective = layer("blocks.4")
    image = torch.rand(1, 3, 128, 128, generator=torch.Generator().manual_seed(2))
    with LayerHooks(real_model, objective.layers) as full, LayerHooks(bf16, objective.layers) as half:
        want, _ = image_gradient(full, objective, image)
        got, _ = image_gradient(half, objective, image)
    assert got.dtype == torch.float32  # the gradient returns to the fp32 master image
    assert _cos(got, want) > 0.9  # measured about 0.95 (bench/RESULTS.md)


def test_loss_scale_cancels_out(random_model: DreamModel) -> None:
    bf16 = random_model.with_precision("bf16")
    scaled = random_model.with_precision("bf16")
    scaled.loss_scale = 1024.0  # what fp16 uses on CUDA: scaled at the activation, unscaled at the input
    objective = layer("blocks.3")
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with LayerHooks(bf16, objective.layers) as plain, LayerHooks(scaled, objective.layers) as big:
        want, s1 = image_gradient(plain, objective, image)
        got, s2 = image_gradient(big, objective, image)
    assert s1 == pytest.approx(s2)  # the reported score is not scaled
    assert torch.allclose(got, want, rtol=1e-2, atol=1e-3 * float(want.abs().max()))


def test_bf16_render_runs_and_keeps_parameters_frozen(random_model, cat_image) -> None:
    engine = Engine(device="cpu", precision="bf16")
    engine.use(random_model)
    out = engine.dream(cat_image, steps=2, octaves=2, seed=0)
    assert out.size == cat_image.size and out.info["dreamer"]["env"]["precision"] == "bf16"
    model = engine.model("lite0")
    assert model.dtype == torch.bfloat16
    assert all(p.grad is None and not p.requires_grad for p in model.net.parameters())


def test_fp16_off_cuda_is_a_clear_error(cat: Path, tmp_path: Path) -> None:
    with pytest.raises(DreamerError, match="fp16 needs a CUDA device"):
        DreamModel(EfficientNetLite0(), get_spec("lite0"), torch.device("cpu"), precision="fp16")
    out = tmp_path / "out.png"
    result = CliRunner().invoke(cli, ["render", str(cat), "-o", str(out), "--precision", "fp16", "--device", "cpu"])
    assert result.exit_code == 1
    assert "Error: --precision fp16 needs a CUDA device" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1 and not out.exists()


def test_auto_precision_is_bf16_only_on_cpus_with_native_bf16() -> None:
    assert place("cpu").precision == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert place("cpu", work="visualize").precision == "fp32"  # small batches: fp32 measured faster
    assert place(torch.device("cuda")).precision == "fp32"  # not measured on GPUs: stays exact
    assert place("cpu", "fp32").precision == "fp32"
    with pytest.raises(DreamerError, match="^precision must be one of auto, fp32, bf16, fp16"):
        place("cpu", "fp8")


def test_every_precision_choice_has_a_dtype() -> None:
    """The valid precisions are listed once (the schema's PRECISION_CHOICES); nets only maps them to dtypes."""
    assert set(DTYPES) == set(PRECISION_CHOICES) - {"auto"}


def test_strided_depthwise_convs_get_fp32_input_gradients_inside_bf16(real_model: DreamModel) -> None:
    """OneDNN's bf16 input gradient is slow for strided depthwise convs: theirs is computed in fp32."""
    plain = nn.Sequential(nn.Conv2d(8, 8, 3, 2, 1, groups=8), nn.Conv2d(8, 8, 3, 1, 1, groups=8))
    plain = plain.to(torch.bfloat16).requires_grad_(False)
    assert strided_depthwise_in_fp32(plain) == ["0"]  # a torchvision-style conv runs in fp32 throughout
    assert plain[0].weight.dtype == torch.float32 and plain[1].weight.dtype == torch.bfloat16
    assert plain(torch.rand(1, 8, 16, 16).bfloat16()).dtype == torch.bfloat16
    bf16 = real_model.with_precision("bf16")
    conv = bf16.module("blocks.1.0.conv_dw")  # lite0's own: forward in bf16, input gradient in fp32
    assert isinstance(conv, Conv2dSame) and conv.weight.dtype == torch.bfloat16
    x = torch.randn(1, 96, 32, 32, generator=torch.Generator().manual_seed(0)).bfloat16()
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_(True)
    y = conv(x)
    assert y.dtype == torch.bfloat16 and y.shape == (1, 96, 16, 16)
    weights = torch.randn(y.shape, generator=torch.Generator().manual_seed(1))
    (got,) = torch.autograd.grad((y.float() * weights).sum(), x)
    exact = copy.deepcopy(conv).float().requires_grad_(True)  # the trainable path: plain fp32 autograd
    x32 = x.detach().float().requires_grad_(True)
    (want,) = torch.autograd.grad((exact(x32) * weights).sum(), x32)
    assert got.dtype == torch.bfloat16 and _cos(got.float(), want) > 0.999


@pytest.mark.parametrize("relu6", [False, True])
@pytest.mark.parametrize(("stride", "groups", "size"), [(2, 6, (16, 16)), (2, 6, (15, 18)), (1, 1, (9, 12))])
def test_frozen_same_conv_matches_plain_autograd(relu6: bool, stride: int, groups: int, size: tuple[int, int]) -> None:
    """The one-pass pad, fused clamp and input-only backward give what F.pad + conv2d + autograd give."""
    if relu6 and not kernels._fused_kernel_available():
        pytest.skip("no oneDNN fused convolution in this torch build")
    torch.manual_seed(0)
    conv = Conv2dSame(6, 6, 3, stride, 0, groups=groups, bias=True).to(memory_format=torch.channels_last)
    x = torch.randn(2, 6, *size).contiguous(memory_format=torch.channels_last)
    exact = (lambda t: conv(t).clamp(0, 6)) if relu6 else conv  # weights trainable: plain autograd
    x1 = x.clone().requires_grad_(True)
    want = exact(x1)
    conv.requires_grad_(False)
    x2 = x.clone().requires_grad_(True)
    got = kernels._FrozenConv.apply(x2, conv, relu6)
    assert torch.allclose(got, want, atol=1e-5) and got.is_contiguous(memory_format=torch.channels_last)
    weights = torch.randn(want.shape)
    (g_want,) = torch.autograd.grad((want * weights).sum(), x1)
    (g_got,) = torch.autograd.grad((got * weights).sum(), x2)
    assert torch.allclose(g_got, g_want, atol=1e-5) and g_got.is_contiguous(memory_format=torch.channels_last)


def test_same_conv_computes_in_its_weights_dtype() -> None:
    """A TF-"same" conv holding fp32 weights takes and returns bf16 and equals the fp32 conv."""
    conv = Conv2dSame(4, 4, 3, 2, 0, groups=4, bias=False).requires_grad_(False)
    x = torch.randn(1, 4, 10, 10, generator=torch.Generator().manual_seed(0))
    y16 = conv(x.bfloat16())
    assert y16.dtype == torch.bfloat16
    assert torch.equal(y16, conv(x.bfloat16().float()).bfloat16())


def test_keep_freed_memory_applies_on_glibc() -> None:
    """On glibc it takes effect (and may be called again); elsewhere it reports that it did nothing."""
    on_glibc = hasattr(os, "confstr") and "CS_GNU_LIBC_VERSION" in os.confstr_names
    assert keep_freed_memory() is on_glibc
    assert keep_freed_memory() is on_glibc


@pytest.mark.parametrize("shift", [(0, 0), (3, -5), (-9, 13), (40, 0)])
def test_one_pass_input_matches_roll_normalise_cast(random_model: DreamModel, shift: tuple[int, int]) -> None:
    """prepare(image, shift) == roll, normalise, cast, channels-last; its gradient is the unrolled one."""
    image = torch.rand(2, 3, 24, 36, generator=torch.Generator().manual_seed(0), requires_grad=True)
    model = random_model.with_precision("bf16")
    got = model.prepare(image, shift)
    want = ((image.roll(shift, dims=(2, 3)) - model.mean) / model.std).to(torch.bfloat16)
    assert got.dtype == torch.bfloat16 and got.is_contiguous(memory_format=torch.channels_last)
    assert (got.float() - want.float()).abs().max() <= 1e-2  # a bf16 rounding step at most
    weights = torch.randn(got.shape, generator=torch.Generator().manual_seed(1))
    (g_got,) = torch.autograd.grad((got.float() * weights).sum(), image)
    (g_want,) = torch.autograd.grad((want.float() * weights).sum(), image)
    assert torch.allclose(g_got, g_want) and g_got.is_contiguous() and g_got.dtype == torch.float32


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_fused_conv_relu6_matches_the_separate_ops(
    real_model: DreamModel, precision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lite0's conv + ReLU6 pairs run as one oneDNN kernel: same activations and image gradient."""
    model = real_model.with_precision(precision)
    objective = layer("blocks.4")
    image = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    calls = []
    real_apply = kernels._FrozenConv.apply
    monkeypatch.setattr(kernels._FrozenConv, "apply", lambda *a: (calls.append(1) if a[2] else None) or real_apply(*a))
    with LayerHooks(model, ["blocks.4"]) as run:
        fused, fused_score = image_gradient(run, objective, image)
        assert len(calls) == 22  # the stem, then blocks.0 to blocks.4: 1 + 4 + 4 + 6 + 6 pairs
        lite0.set_fused(model.net, False)  # model may be the session's shared real_model: always switch back
        try:
            plain, plain_score = image_gradient(run, objective, image)
        finally:
            lite0.set_fused(model.net, True)
    assert len(calls) == 22  # none more with the fusion switched off
    assert abs(fused_score - plain_score) <= 1e-5 * abs(plain_score)
    if precision == "fp32":
        assert _relative(fused, plain) < 1e-5
    else:  # fused, a ReLU6 at 6 is tested on the fp32 output before it rounds to bf16: a few pixels differ
        assert _cos(fused, plain) > 0.9999


def test_hooks_inside_a_fused_pair_still_see_their_own_outputs(real_model: DreamModel) -> None:
    """Hooking a fused pair's batch-norm or ReLU6 by name runs them apart, so each hook sees its module."""
    names = ["blocks.4.0.bn1", "blocks.4.0.act1", "blocks.4"]
    with LayerHooks(real_model, names) as run:
        acts = run(torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)))
    assert float(acts["blocks.4.0.bn1"].min()) < 0  # before the clamp
    assert torch.equal(acts["blocks.4.0.act1"], acts["blocks.4.0.bn1"].clamp(0, 6))


def test_fusion_is_off_where_the_fused_kernel_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A build without oneDNN (or whose private op fails its check) runs the separate modules."""
    kernels._fused_kernel_available.cache_clear()
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    try:
        assert kernels._fused_kernel_available() is False
        net = EfficientNetLite0().eval().requires_grad_(False)
        fold_batchnorm(net)
        calls = []
        real_apply = kernels._FrozenConv.apply
        monkeypatch.setattr(kernels._FrozenConv, "apply", lambda *a: calls.append(a[2]) or real_apply(*a))
        logits = net(torch.rand(1, 3, 64, 64))
        assert True not in calls and logits.shape == (1, 1000)  # no fused clamp, only TF-padded convs
    finally:
        kernels._fused_kernel_available.cache_clear()

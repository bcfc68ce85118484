"""Fast paths for a frozen network: batch-norm folded into convolutions, reduced precision.

Both are measured against the plain fp32 step in ``bench/step.py`` (results in bench/RESULTS.md).
Folding is exact up to rounding because the network is frozen in eval mode; bf16 and fp16 trade
a little gradient accuracy (cosine to fp32 reported by the bench) for speed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from dreamer.errors import DreamerError

PRECISIONS = ("fp32", "bf16", "fp16")  # what a model runs at; "auto" resolves to one of these
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
FP16_LOSS_SCALE = 1024.0  # keeps fp16 activation gradients (about 2a/N) out of the subnormal range
FOLD_PROBE_SIDE = 112  # input side of the one forward pass that finds conv -> batch-norm pairs

Folded = dict[str, tuple[torch.Tensor, torch.Tensor]]  # conv name -> (scale, shift) the fold applied


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX), where bf16 was measured faster."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on CPUs with native bf16 (measured: faster, same look), else fp32; others pass."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and cpu_has_native_bf16() else "fp32"


def check_precision(precision: str, device: torch.device) -> torch.dtype:
    """The dtype for a resolved ``precision`` on ``device``, or a one-line error (fp16 needs CUDA)."""
    if precision not in DTYPES:
        raise DreamerError(f"--precision must be auto or one of {', '.join(PRECISIONS)} (got {precision!r})")
    if precision == "fp16" and device.type != "cuda":
        raise DreamerError(
            f"--precision fp16 needs a CUDA device (this render runs on {device.type}); use bf16 or fp32"
        )
    return DTYPES[precision]


def _outputs(out: Any) -> list[torch.Tensor]:
    """Every tensor in a network's output (a tensor, a tuple or a named tuple)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (tuple, list)):
        return [t for t in out if isinstance(t, torch.Tensor)]
    return []


def _consumers(roots: list[torch.Tensor]) -> dict[Any, int]:
    """For each autograd node reachable from ``roots``, how many edges lead into it."""
    count: dict[Any, int] = {}
    seen: set[Any] = set()
    stack = [t.grad_fn for t in roots if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for child, _ in node.next_functions:
            if child is not None:
                count[child] = count.get(child, 0) + 1
                stack.append(child)
    return count


def conv_bn_pairs(net: nn.Module, device: torch.device | None = None) -> list[tuple[str, str]]:
    """(conv, batch-norm) name pairs where the batch-norm's only input is the conv's output.

    Found from the data flow of one small forward pass, not from module order: a pair
    qualifies only when the conv output feeds that batch-norm and nothing else (so a
    DenseNet concatenation or a raw skip connection is never changed), and each module runs once.
    """
    convs = {m: n for n, m in net.named_modules() if isinstance(m, nn.Conv2d)}
    bns = {
        m: n
        for n, m in net.named_modules()
        if isinstance(m, nn.BatchNorm2d) and not m.training and m.running_mean is not None and m.running_var is not None
    }
    conv_out: dict[int, tuple[str, torch.Tensor]] = {}
    bn_in: dict[str, torch.Tensor] = {}
    calls: dict[str, int] = {}

    def on_conv(m: nn.Module, _i: Any, out: torch.Tensor) -> None:
        calls[convs[m]] = calls.get(convs[m], 0) + 1
        conv_out[id(out)] = (convs[m], out)

    def on_bn(m: nn.Module, inputs: Any, _o: Any) -> None:
        calls[bns[m]] = calls.get(bns[m], 0) + 1
        bn_in[bns[m]] = inputs[0]

    if not bns:
        return []
    handles = [m.register_forward_hook(on_conv) for m in convs] + [m.register_forward_hook(on_bn) for m in bns]
    param = next(net.parameters(), None)
    device = device or (param.device if param is not None else torch.device("cpu"))
    dtype = param.dtype if param is not None else torch.float32
    x = torch.zeros(1, 3, FOLD_PROBE_SIDE, FOLD_PROBE_SIDE, device=device, dtype=dtype, requires_grad=True)
    try:
        with torch.enable_grad():
            outs = _outputs(net(x))
    except Exception:  # noqa: BLE001 - a network that rejects the probe input is simply not folded
        return []
    finally:
        for h in handles:
            h.remove()
    consumers = _consumers(outs)
    pairs = []
    for bn_name, inp in bn_in.items():
        hit = conv_out.get(id(inp))
        if hit is None or hit[1] is not inp:
            continue
        conv_name = hit[0]
        if calls[conv_name] == 1 and calls[bn_name] == 1 and consumers.get(inp.grad_fn, 0) == 1:
            pairs.append((conv_name, bn_name))
    return pairs


def fold_batchnorm(net: nn.Module, device: torch.device | None = None) -> Folded:
    """Fold each eval-mode batch-norm into the conv before it, in place; the batch-norm becomes Identity.

    Returns, per folded conv, the (scale, shift) it now applies, so the conv's own output can be
    recovered as ``(y - shift) / scale`` when someone hooks it. Batch-norm names stay addressable:
    the Identity outputs what the batch-norm did. Convs with a near-zero scale are left alone.
    """
    modules = dict(net.named_modules())
    folded: Folded = {}
    for conv_name, bn_name in conv_bn_pairs(net, device):
        conv, bn = modules[conv_name], modules[bn_name]
        assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
        with torch.no_grad():  # in float64 on the CPU (MPS has no float64), then back
            var, mean = _f64(bn.running_var), _f64(bn.running_mean)
            gamma = _f64(bn.weight) if bn.weight is not None else torch.ones_like(var)
            beta = _f64(bn.bias) if bn.bias is not None else torch.zeros_like(var)
            scale = gamma / torch.sqrt(var + bn.eps)
            if bool((scale.abs() < 1e-12).any()):
                continue
            bias = _f64(conv.bias) if conv.bias is not None else torch.zeros_like(var)
            # bn(conv(x)) = scale * (W x + b) + (beta - scale * mean) = (scale W) x + new_bias
            shift = beta - scale * mean
            like = {"device": conv.weight.device, "dtype": conv.weight.dtype}
            conv.weight.copy_((_f64(conv.weight) * scale.view(-1, 1, 1, 1)).to(**like))
            if conv.bias is None:
                conv.bias = nn.Parameter((scale * bias + shift).to(**like), requires_grad=False)
            else:
                conv.bias.copy_((scale * bias + shift).to(**like))
        _replace(net, bn_name, nn.Identity())
        folded[conv_name] = (scale.float(), shift.float())
    return folded


class _Fp32Forward:
    """Mixin for a conv that runs in float32 inside a reduced-precision network."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute in float32, hand back the network's dtype."""
        return super().forward(x.float()).to(x.dtype)  # type: ignore[misc]


def strided_depthwise_in_fp32(net: nn.Module) -> list[str]:
    """Run strided depthwise convs in float32 inside a bf16 CPU network; returns their names.

    oneDNN's bf16 input-gradient for these convs is about 9x slower than fp32 (3x3 stride 2 on
    96 channels at 256 px: 124 ms vs 16 ms forward+backward), while every other conv gains from
    bf16. The module keeps its name and type (a subclass made on the fly), so hooks still find it.
    """
    names = []
    for name, m in net.named_modules():
        if isinstance(m, nn.Conv2d) and m.groups > 1 and m.groups == m.in_channels and max(m.stride) > 1:
            if getattr(m, "bf16_backward_in_fp32", False):  # lite0's convs take care of it themselves
                continue
            if not isinstance(m, _Fp32Forward):
                m.__class__ = type(f"Fp32{type(m).__name__}", (_Fp32Forward, type(m)), {})
            m.float()
            names.append(name)
    return names


def _f64(t: torch.Tensor) -> torch.Tensor:
    return t.detach().cpu().double()


def _replace(net: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` at the dotted path ``name`` (works inside Sequential and plain attributes)."""
    parent_name, _, child = name.rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    setattr(parent, child, new)

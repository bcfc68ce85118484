"""Batch-norm folded into the convolution before it: exact up to rounding for a frozen network.

Measured against the plain fp32 step in ``bench/step.py`` (results in bench/RESULTS.md).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

FOLD_PROBE_SIDE = 112  # input side of the one forward pass that finds conv -> batch-norm pairs

Folded = dict[str, tuple[torch.Tensor, torch.Tensor]]  # conv name -> (scale, shift) the fold applied


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


def _f64(t: torch.Tensor) -> torch.Tensor:
    return t.detach().cpu().double()


def _replace(net: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` at the dotted path ``name`` (works inside Sequential and plain attributes)."""
    parent_name, _, child = name.rpartition(".")
    parent = net.get_submodule(parent_name) if parent_name else net
    setattr(parent, child, new)

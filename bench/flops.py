"""Shared by the benches: FLOPs of a call (depthwise conv backward counted right) and the machine's conv ceiling."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode


def sync(device: torch.device) -> None:
    """Wait for queued GPU work, so timings are real."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _conv_backward_flops(grad_out_shape, _x_shape, w_shape, *args, **_kwargs) -> int:  # noqa: ANN001
    """Conv backward FLOPs that respect groups: input and weight gradients each cost one forward conv.

    torch's own formula ignores ``groups`` for the weight gradient and overcounts depthwise
    convs by their channel count (64x on a 64-channel depthwise conv), which inflates the naive step.
    """
    output_mask = args[7]  # after bias, stride, padding, dilation, transposed, output_padding, groups
    forward = 2 * math.prod(grad_out_shape) * math.prod(w_shape[1:])
    return forward * (int(output_mask[0]) + int(output_mask[1]))


def _pointwise_conv_flops(x_shape, w_shape, *_args, out_shape=None, **_kwargs) -> int:  # noqa: ANN001
    """The FLOPs of oneDNN's fused conv + activation (our conv + ReLU6): those of the conv alone.

    torch counts this op as 0. (While counting, FlopCounterMode's global module hooks make Lite0 run
    its pairs unfused anyway; this keeps the count right should that change.)
    """
    n, _, h, w = out_shape
    return 2 * n * w_shape[0] * h * w * math.prod(w_shape[1:])


def count_flops(fn: Callable[[], object]) -> float:
    """FLOPs of one call of ``fn`` (convs and matmuls, fused or not), depthwise backward counted right."""
    fix = {
        torch.ops.aten.convolution_backward: _conv_backward_flops,
        torch.ops.mkldnn._convolution_pointwise: _pointwise_conv_flops,
    }
    with FlopCounterMode(display=False, custom_mapping=fix) as counter:
        fn()
    return float(counter.get_total_flops())


def conv_throughput(device: torch.device, dtype: torch.dtype, seconds: float = 2.0) -> float:
    """GFLOP/s of a dense 3x3 conv forward (256 -> 256 channels, 64x64, channels-last): the machine's ceiling."""
    conv = torch.nn.Conv2d(256, 256, 3, padding=1, bias=False).to(device, dtype, memory_format=torch.channels_last)
    x = torch.randn(1, 256, 64, 64, device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    flops = 2 * 256 * 256 * 9 * 64 * 64
    times = []
    with torch.no_grad():
        conv(x)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end or len(times) < 5:
            sync(device)
            t = time.perf_counter()
            conv(x)
            sync(device)
            times.append(time.perf_counter() - t)
    return flops / statistics.median(times) / 1e9

"""Device and precision: resolved in one place (``place``), checked, and the reduced-precision fast paths.

bf16 and fp16 trade a little gradient accuracy (cosine to fp32 reported by ``bench/step.py``) for speed.
The list of valid ``--precision`` values lives in the schema (``dreamer.spec.specs.PRECISION_CHOICES``);
``DTYPES`` only says which torch dtype each one is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from dreamer.errors import DreamerError
from dreamer.spec.specs import PRECISION_CHOICES

AUTO = "auto"
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}  # each of PRECISION_CHOICES but auto
FP16_LOSS_SCALE = 1024.0  # keeps fp16 activation gradients (about 2a/N) out of the subnormal range


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware (AVX512-BF16 or AMX), where bf16 was measured faster."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


@dataclass(frozen=True)
class Placement:
    """Where a network runs and in which dtype: a run's device and precision, resolved and checked."""

    device: torch.device
    precision: str  # fp32, bf16 or fp16, never auto

    @property
    def dtype(self) -> torch.dtype:
        """The network's torch dtype."""
        return DTYPES[self.precision]


def place(device: str | torch.device = AUTO, precision: str = AUTO, work: str = "dream") -> Placement:
    """The one resolution of device and precision: ``auto`` -> what was measured best here for ``work``.

    Device ``auto`` picks CUDA, then Apple MPS, then the CPU. Precision ``auto``, for dreams (one
    large image): bf16 on CPUs with native bf16 (faster, same look), else fp32. For feature
    visualisation (``work="visualize"``: batches of small images) fp32, which ran 1.5x faster than
    bf16 there (``bench/grid.py``: bf16's elementwise backward and dtype conversions dominate at that size).
    Anything explicit is checked: fp16 needs CUDA.
    """
    dev = _device(device)
    if precision == AUTO:
        native = work == "dream" and dev.type == "cpu" and cpu_has_native_bf16()
        precision = "bf16" if native else "fp32"
    if precision not in PRECISION_CHOICES:
        raise DreamerError(f"must be one of {', '.join(PRECISION_CHOICES)} (got {precision!r})", field="precision")
    if precision == "fp16" and dev.type != "cuda":
        raise DreamerError(
            f"fp16 needs a CUDA device (this render runs on {dev.type}); use bf16 or fp32",
            field="precision",
        )
    return Placement(dev, precision)


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


def _device(device: str | torch.device) -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then CPU; anything else is checked."""
    if isinstance(device, torch.device):
        return device
    if device == AUTO:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise DreamerError(
            f"`device`: unknown device {device!r} (use auto, cpu, cuda, cuda:N or mps)", field="device"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DreamerError(f"{device}: CUDA is not available on this machine", field="device")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise DreamerError(f"{device}: MPS is not available on this machine", field="device")
    return dev

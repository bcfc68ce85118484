"""The wrapper that owns a frozen network's normalisation, device, precision and fast paths."""

from __future__ import annotations

import copy
import difflib
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from dreamer.errors import DreamerError
from dreamer.nets.fold import fold_batchnorm
from dreamer.nets.precision import AUTO, FP16_LOSS_SCALE, place, strided_depthwise_in_fp32

if TYPE_CHECKING:
    from dreamer.nets.modelspec import ModelSpec

LOGITS = "logits"  # pseudo-layer: the network's final output


def _roll_blocks(h: int, w: int, shift: tuple[int, int]) -> list[tuple[tuple, tuple]]:
    """(destination, source) index pairs whose copies make ``torch.roll(x, shift, dims=(-2, -1))``."""
    dy, dx = shift[0] % h, shift[1] % w
    rows = [(slice(dy, h), slice(0, h - dy)), (slice(0, dy), slice(h - dy, h))]
    cols = [(slice(dx, w), slice(0, w - dx)), (slice(0, dx), slice(w - dx, w))]
    return [
        ((..., rd, cd), (..., rs, cs))
        for rd, rs in rows
        for cd, cs in cols
        if rd.stop > rd.start and cd.stop > cd.start
    ]


class _Prepare(torch.autograd.Function):
    """Roll, normalise (``x * scale + offset``), cast and lay out the image in one pass; backward in one too.

    As separate ops (roll, subtract, divide, cast, channels-last copy, and their mirror images
    for the gradient) this plumbing took several full passes over the image every step.
    """

    @staticmethod
    def forward(
        ctx: Any,
        image: torch.Tensor,
        shift: tuple[int, int],
        scale: torch.Tensor,
        offset: torch.Tensor,
        dtype: torch.dtype,
        fmt: torch.memory_format,
        loss_scale: float,
    ) -> torch.Tensor:
        """(B, 3, H, W) float image -> rolled, normalised network input of ``dtype`` in layout ``fmt``."""
        out = torch.empty(image.shape, dtype=dtype, device=image.device, memory_format=fmt)
        blocks = _roll_blocks(*image.shape[-2:], shift)
        for dst, src in blocks:
            torch.addcmul(offset, image[src], scale, out=out[dst])
        ctx.blocks, ctx.dtype = blocks, image.dtype
        ctx.save_for_backward(scale / loss_scale)  # undoes the fp16 loss scale applied in capture()
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        """The input's gradient -> the image's: unrolled, scaled, float, contiguous."""
        (scale,) = ctx.saved_tensors
        out = torch.empty(grad.shape, dtype=ctx.dtype, device=grad.device)
        for dst, src in ctx.blocks:
            torch.mul(grad[dst], scale, out=out[src])
        return out, None, None, None, None, None, None


class DreamModel:
    """A frozen network in eval mode on one device, with its input normalisation and fast paths.

    Load it once and reuse it for many renders. Images go in as RGB in [0, 1] and float32;
    with ``precision`` bf16/fp16 the network runs in that dtype (cast once here) while the
    image, its gradient and the captured activations stay float32. ``device`` and ``precision``
    ``auto`` resolve as for a dream (``dreamer.nets.precision.place``). ``fold_bn`` folds each
    batch-norm into the conv before it (exact up to rounding; see ``dreamer.nets.fold``).
    The network is changed in place: give it a copy to keep the original.
    """

    def __init__(
        self,
        net: nn.Module,
        spec: ModelSpec,
        device: str | torch.device = AUTO,
        weights: str | None = None,
        precision: str = AUTO,
        fold_bn: bool = True,
    ) -> None:
        where = place(device, precision)
        self.spec = spec
        self.device, self.precision, self.dtype = where.device, where.precision, where.dtype
        self.weights = weights or spec.weights_name
        self.loss_scale = FP16_LOSS_SCALE if self.precision == "fp16" else 1.0
        # Parameters never need gradients: only the image is optimised.
        net = net.eval().requires_grad_(False)
        folded = fold_batchnorm(net) if fold_bn else {}
        self.net = net.to(device=self.device, dtype=self.dtype)
        if self.dtype == torch.bfloat16 and self.device.type == "cpu":
            strided_depthwise_in_fp32(self.net)  # measured: oneDNN's bf16 backward is slow for these
        self.channels_last = self.device.type != "mps"
        if self.channels_last:  # measured faster for convolutions on CPU and CUDA (bench/)
            self.net = self.net.to(memory_format=torch.channels_last)
        self.mean = torch.tensor(spec.mean, device=self.device).view(1, 3, 1, 1)
        self.std = torch.tensor(spec.std, device=self.device).view(1, 3, 1, 1)
        self._scale, self._offset = 1.0 / self.std, -self.mean / self.std  # normalising as one multiply-add
        self._modules = dict(self.net.named_modules())
        # A folded conv's hook sees scale * conv + shift; these undo that for whoever hooks the conv.
        self._unfold = {
            name: (scale.to(self.device).view(1, -1, 1, 1), shift.to(self.device).view(1, -1, 1, 1))
            for name, (scale, shift) in folded.items()
        }

    def with_precision(self, precision: str) -> DreamModel:
        """The same (fp32) model at another precision: a cast copy (self when it already matches).

        Only from fp32: a bf16 or fp16 network cast back up keeps its rounded weights, so that is an error.
        """
        where = place(self.device, precision)
        if where.precision == self.precision:
            return self
        if self.precision != "fp32":
            raise DreamerError(
                f"model {self.name} is at {self.precision}: casting it to {where.precision} would keep its "
                "rounded weights; cast from an fp32 copy"
            )
        clone = copy.copy(self)
        clone.precision, clone.dtype = where.precision, where.dtype
        clone.loss_scale = FP16_LOSS_SCALE if where.precision == "fp16" else 1.0
        clone.net = copy.deepcopy(self.net).to(dtype=clone.dtype)
        if clone.dtype == torch.bfloat16 and self.device.type == "cpu":
            strided_depthwise_in_fp32(clone.net)
        clone._modules = dict(clone.net.named_modules())
        return clone

    @property
    def folded(self) -> tuple[str, ...]:
        """Names of the convs whose batch-norm was folded into them."""
        return tuple(self._unfold)

    @property
    def name(self) -> str:
        """The model's registry name."""
        return self.spec.name

    def prepare(self, image: torch.Tensor, shift: tuple[int, int] = (0, 0)) -> torch.Tensor:
        """RGB in [0, 1] -> the network's input: rolled by ``shift`` (the jitter), normalised, cast, laid out.

        One pass each way (``_Prepare``); the image's gradient comes back float32, unrolled and
        contiguous, so the ascent step needs no roll or copy of its own.
        """
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        return _Prepare.apply(image, shift, self._scale, self._offset, self.dtype, fmt, self.loss_scale)

    def capture(self, name: str, output: torch.Tensor) -> torch.Tensor:
        """A layer's output as the objective should see it: float32, and a folded conv's own output."""
        act = output.float()
        if name in self._unfold:
            scale, shift = self._unfold[name]
            act = (act - shift) / scale
        if self.loss_scale != 1.0 and act.requires_grad:
            act.register_hook(lambda g: g * self.loss_scale)  # fp16 gradients stay clear of underflow
        return act

    def layer_names(self) -> list[str]:
        """Every addressable layer: ``named_modules()`` paths plus ``logits``."""
        return [n for n in self._modules if n] + [LOGITS]

    def module(self, name: str) -> nn.Module:
        """The module at a dotted path, or an error suggesting close names."""
        if name in self._modules and name:
            return self._modules[name]
        close = difflib.get_close_matches(name, self.layer_names(), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `dreamer layers`"
        raise DreamerError(f"`layers`: model {self.name} has no layer {name!r}{hint}", field="layers")

    def check_layer(self, name: str) -> None:
        """Raise a helpful error when ``name`` is not a layer of this model."""
        if name != LOGITS:
            self.module(name)

    def logits(self, image: torch.Tensor) -> torch.Tensor:
        """The network's float32 output for an RGB [0, 1] image batch (no gradient)."""
        with torch.no_grad():
            return self.net(self.prepare(image.to(self.device))).float()

    def classify(self, image: torch.Tensor, top: int = 5) -> list[tuple[str, float]]:
        """Top classes and probabilities for an RGB [0, 1] image (a quick sanity check)."""
        probs = self.logits(image).softmax(-1)[0]
        values, idx = probs.topk(top)
        names = self.spec.categories or tuple(str(i) for i in range(probs.numel()))
        return [(names[i], float(v)) for v, i in zip(values, idx.tolist(), strict=True)]

"""Weights files: a state dict read safely and loaded strictly, with errors that name the file and the keys."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from dreamer.errors import DreamerError


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """Load a state dict (or a checkpoint holding ``state_dict``) safely, ``weights_only=True``."""
    p = Path(path)
    if not p.is_file():
        raise DreamerError(f"{p}: no such file", field="weights")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" in str(exc):  # the pickle names a callable: loading it could run code
            raise DreamerError(
                f"{p}: refused: the file holds Python objects that could run code "
                "(loaded with weights_only=True); re-save it as a plain state_dict",
                field="weights",
            ) from None
        raise DreamerError(f"{p}: not a PyTorch checkpoint ({str(exc).splitlines()[0]})", field="weights") from None
    except Exception as exc:  # noqa: BLE001 - torch.load raises many kinds on garbage input
        raise DreamerError(
            f"{p}: not a PyTorch checkpoint ({str(exc).splitlines()[0][:100]})", field="weights"
        ) from None
    for key in ("state_dict", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise DreamerError(f"{p}: not a state dict of tensors", field="weights")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_into(net: nn.Module, state: dict[str, torch.Tensor], convert: Callable[[dict], dict]) -> None:
    """Load weights strictly, with an error naming the first missing and unexpected keys."""
    state = convert(state)
    own = net.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (first: {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (first: {unexpected[0]})")
        raise DreamerError(f"weights do not fit the architecture: keys {'; '.join(parts)}")
    bad = [k for k, v in state.items() if v.shape != own[k].shape]
    if bad:
        k = bad[0]
        raise DreamerError(
            f"weights do not fit the architecture: {k} has shape {tuple(state[k].shape)}, "
            f"expected {tuple(own[k].shape)}"
        )
    net.load_state_dict(state, strict=True)

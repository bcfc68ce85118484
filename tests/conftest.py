"""Shared fixtures: small photos, the bundled model (loaded once), random-weight models."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from dreamer.engine.engine import Dreamer
from dreamer.nets.lite0 import EfficientNetLite0
from dreamer.nets.registry import DreamModel, get_model, get_spec
from dreamer.samples import sample_path


@pytest.fixture(autouse=True)
def _private_torch_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test gets an empty torch cache, so nothing depends on what this machine has."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture(scope="session")
def real_model() -> DreamModel:
    """The bundled EfficientNet-Lite0 with its ImageNet weights, on the CPU."""
    return get_model("lite0", device="cpu")


@pytest.fixture(scope="session")
def random_model() -> DreamModel:
    """Lite0's architecture with random weights: for mechanics, not looks."""
    torch.manual_seed(0)
    return DreamModel(EfficientNetLite0(), get_spec("lite0"), torch.device("cpu"))


@pytest.fixture()
def random_dreamer(random_model: DreamModel) -> Dreamer:
    """A Dreamer whose lite0 is the random-weight model."""
    d = Dreamer("cpu")
    d.use(random_model)
    return d


@pytest.fixture()
def real_dreamer(real_model: DreamModel) -> Dreamer:
    """A Dreamer using the bundled model."""
    d = Dreamer("cpu")
    d.use(real_model)
    return d


@pytest.fixture()
def cat(tmp_path: Path) -> Path:
    """A 96x64 copy of the bundled cat photo."""
    p = tmp_path / "cat.png"
    Image.open(sample_path("chelsea")).convert("RGB").resize((96, 64)).save(p)
    return p


@pytest.fixture()
def cat_image(cat: Path) -> Image.Image:
    """The small cat as a PIL image."""
    return Image.open(cat).convert("RGB")

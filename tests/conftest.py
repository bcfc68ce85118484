"""Shared fixtures: small photos, the bundled model (loaded once), random-weight models, engines, a headless browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import chromium
import installed
import pytest
import torch
from PIL import Image

from dreamer.engine import Engine
from dreamer.nets.lite0 import EfficientNetLite0
from dreamer.nets.registry import get_model, get_spec
from dreamer.nets.wrapper import DreamModel
from dreamer.samples import sample_path


@pytest.fixture(autouse=True)
def _private_torch_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test gets an empty torch cache, so nothing depends on what this machine has."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture(scope="session")
def real_model() -> DreamModel:
    """The bundled EfficientNet-Lite0 with its ImageNet weights, on the CPU."""
    return get_model("lite0", device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def random_model() -> DreamModel:
    """Lite0's architecture with random weights: for mechanics, not looks."""
    torch.manual_seed(0)
    return DreamModel(EfficientNetLite0(), get_spec("lite0"), torch.device("cpu"), precision="fp32")


@pytest.fixture()
def random_engine(random_model: DreamModel) -> Engine:
    """An fp32 CPU engine whose lite0 is the random-weight model."""
    engine = Engine(device="cpu", precision="fp32")
    engine.use(random_model)
    return engine


@pytest.fixture()
def real_engine(real_model: DreamModel) -> Engine:
    """An fp32 CPU engine using the bundled model."""
    engine = Engine(device="cpu", precision="fp32")
    engine.use(real_model)
    return engine


@pytest.fixture()
def use_random_model(monkeypatch: pytest.MonkeyPatch, random_model: DreamModel) -> None:
    """Every Engine (e.g. one the CLI makes) loads the random-weight model instead of a real one."""
    monkeypatch.setattr(Engine, "model", lambda self, *args, **kwargs: random_model)


@pytest.fixture()
def photos(tmp_path: Path) -> Path:
    """A folder with the three bundled photos, shrunk."""
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("astronaut", "chelsea", "coffee"):
        Image.open(sample_path(name)).convert("RGB").resize((96, 72)).save(folder / f"{name}.png")
    return folder


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


@pytest.fixture()
def browser(tmp_path: Path) -> Iterator[chromium.DevTools]:
    """Headless Chromium (Debian's) with a fresh profile, and a DevTools connection to its page."""
    path = chromium.find()
    if path is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; make test installs it where it can)")
    pytest.importorskip("websocket", reason="websocket-client is a test extra")
    with chromium.headless(path, tmp_path / "profile") as tools:
        yield tools


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> installed.Release:
    """The sdist and wheel built as a release is, and a fresh venv with the wheel (not editable) installed."""
    work = tmp_path_factory.mktemp("release")
    sdist, wheel = installed.build(work)
    return installed.Release(sdist, wheel, installed.install(wheel, work / "venv"))


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """An empty folder outside the checkout to run installed commands from (it is also their HOME)."""
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder

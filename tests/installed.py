"""Build the sdist and the wheel as a release would, and install the wheel into a fresh venv, without ``-e``.

The sdist is built from a copy of the checkout's files (tracked and untracked, not ignored), the wheel from the
unpacked sdist (as ``pip`` and ``build`` do), so a file missing from either shows up here. The fresh venv gets the
wheel through pip with ``--no-index``: pip resolves the wheel's requirements (with every extra) against what is
installed and fails on anything missing. Those dependencies are the test venv's own (the ones ``make test``
installed from the package index), linked into the fresh venv's ``site-packages`` one entry at a time: copying
torch's 5 GB would take minutes. The test venv's own dreamer (the editable install) is left out of the links.
The venv also gets ``tests/offline/sitecustomize.py``: every process started from it has no network but loopback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import textwrap
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = "dreamer_art"  # the distribution's file-name form
IGNORED = {".venv", ".git", "build", "dist", "out", "__pycache__", ".pytest_cache", ".ruff_cache"}


@dataclass(frozen=True)
class Release:
    """A built sdist and wheel, and a fresh venv with the wheel installed."""

    sdist: Path
    wheel: Path
    venv: Path

    @property
    def bin(self) -> Path:
        """The venv's scripts folder."""
        return self.venv / "bin"

    def env(self, home: Path) -> dict[str, str]:
        """An environment for commands run from outside the checkout: the venv first on PATH, no PYTHONPATH."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
        env.update(PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}", HOME=str(home), TORCH_HOME=str(home / "torch"))
        env.update(DREAMER_CACHE=str(home / "cache"), MPLCONFIGDIR=str(home / "mpl"), RAY_USAGE_STATS_ENABLED="0")
        env.update(DREAMER_NET_LOG=str(network_log(home)))
        return env


def network_log(home: Path) -> Path:
    """Where the offline guard (``tests/offline/sitecustomize.py``) records attempts to reach the network."""
    return home / "network-attempts.log"


def source_files(root: Path = ROOT) -> list[Path]:
    """The checkout's files as git sees them (tracked, or untracked and not ignored); without git, a walk."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root, capture_output=True, text=True
    )
    if listed.returncode == 0:
        return sorted(Path(p) for p in listed.stdout.split("\0") if p and (root / p).exists())
    return sorted(
        p.relative_to(root)
        for p in root.rglob("*")
        if (p.is_file() or p.is_symlink()) and not IGNORED & set(p.relative_to(root).parts)
    )


def _copy_tree(root: Path, dest: Path) -> None:
    for rel in source_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if (root / rel).is_symlink():
            target.symlink_to(os.readlink(root / rel))
        else:
            shutil.copy2(root / rel, target)


def _pep517(hook: str, source: Path, out: Path) -> Path:
    """Run a setuptools PEP 517 hook in a subprocess (no build isolation: no network), return the file built."""
    code = f"from setuptools import build_meta as b; print(b.{hook}({str(out)!r}))"
    run = subprocess.run([sys.executable, "-c", code], cwd=source, capture_output=True, text=True)
    assert run.returncode == 0, f"{hook} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return out / run.stdout.strip().splitlines()[-1]


def build(work: Path) -> tuple[Path, Path]:
    """(sdist, wheel): the sdist from a copy of the checkout, the wheel from the unpacked sdist."""
    tree, out = work / "tree", work / "dist"
    out.mkdir(parents=True)
    _copy_tree(ROOT, tree)
    sdist = _pep517("build_sdist", tree, out)
    with tarfile.open(sdist) as tar:
        tar.extractall(work / "unpacked", filter="tar")
    (unpacked,) = (work / "unpacked").iterdir()
    return sdist, _pep517("build_wheel", unpacked, out)


def _link_dependencies(site: Path) -> None:
    """Link the test venv's installed packages into ``site``, leaving out dreamer itself."""
    ours = Path(sysconfig.get_paths()["purelib"])
    for entry in ours.iterdir():
        name = entry.name.lower()
        if name.startswith(("dreamer", "__editable__", "_dreamer")) or name == "__pycache__":
            continue
        if not (site / entry.name).exists():
            (site / entry.name).symlink_to(entry)


def install(wheel: Path, where: Path) -> Path:
    """A fresh venv at ``where`` with ``wheel`` and all its extras installed by pip, from no index."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where)
    site = Path(sysconfig.get_paths(vars={"base": str(where), "platbase": str(where)})["purelib"])
    _link_dependencies(site)
    shutil.copy(Path(__file__).parent / "offline" / "sitecustomize.py", site / "sitecustomize.py")
    python = where / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--no-index", "--no-build-isolation", "--disable-pip-version-check"]
    run = subprocess.run([*pip, f"{wheel}[video,ray,studio]"], capture_output=True, text=True, cwd=where)
    assert run.returncode == 0, f"pip install failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    check = subprocess.run(
        [str(python), "-c", textwrap.dedent("import dreamer, sys; print(dreamer.__file__)")],
        capture_output=True,
        text=True,
        cwd=where,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert check.returncode == 0 and check.stdout.strip().startswith(str(where)), check.stdout + check.stderr
    return where


def wheel_names(wheel: Path) -> list[str]:
    """The paths inside a wheel."""
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def sdist_names(sdist: Path) -> list[str]:
    """The paths inside an sdist, without its top folder."""
    with tarfile.open(sdist) as tar:
        return [m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name]

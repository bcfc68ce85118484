"""``dreamer gallery``: many photos times many styles, resumable, with a page and a contact sheet."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import click

from dreamer.cli.group import cli
from dreamer.cli.options import given, profile_options
from dreamer.cli.settings import run_env
from dreamer.errors import DreamerError, install_line
from dreamer.spec.specs import EXECUTOR_CHOICES, DreamSpec


@cli.command("gallery")
@click.argument("photos", nargs=-1)
@click.option("-s", "--style", "styles", multiple=True, help="A style to render each photo in (repeatable).")
@click.option(
    "--all-styles",
    is_flag=True,
    help="Every shipped style whose model is at hand (bundled, or its weights downloaded).",
)
@click.option(
    "-o", "--output", "out_dir", type=click.Path(path_type=Path, readable=False), help="Gallery folder (required)."
)
@click.option(
    "--status",
    "status_of",
    type=click.Path(path_type=Path, file_okay=False),
    help="Print the counts (done, pending, failed, by node) of the gallery in this folder, running or stopped.",
)
@click.option("--force", is_flag=True, help="Re-render even what is already there with the same settings.")
@click.option(
    "--workers",
    type=click.IntRange(1, 4096),
    help="Parallel workers: CPU processes on this machine, or Ray actors [default: 1; on Ray one per GPU, "
    "else one per 4 CPUs of each node].",
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTOR_CHOICES),
    help="Where jobs run: this process, a pool of processes, or a Ray cluster ("
    f"{install_line('ray')}) "
    "[default: local, or pool with --workers, or ray with --address].",
)
@click.option(
    "--address",
    help="Ray cluster to join: auto, HOST:PORT or ray://HOST:10001 [default: $RAY_ADDRESS, else a private "
    "local cluster].",
)
@click.option(
    "--shared-storage",
    is_flag=True,
    help="Ray workers read photos and write images themselves: every node must see PHOTOS and -o at the same paths.",
)
@profile_options("gallery")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def gallery_command(
    ctx: click.Context,
    photos: tuple[str, ...],
    styles: tuple[str, ...],
    all_styles: bool,
    out_dir: Path | None,
    status_of: Path | None,
    force: bool,
    workers: int | None,
    executor: str | None,
    address: str | None,
    shared_storage: bool,
    quiet: bool,
    **params: Any,
) -> None:
    """Render PHOTOS (files, folders, globs) in each style, with manifest.json, index.html and a contact sheet."""
    from tqdm.auto import tqdm

    if status_of is not None:
        for line in status_lines(status_of):
            click.echo(line)
        return
    if not photos:
        raise click.UsageError("Missing argument 'PHOTOS...'.")
    if out_dir is None:
        raise click.UsageError("Missing option '-o' / '--output'.")

    from dreamer.engine.styles import styles_at_hand
    from dreamer.runners.gallery import gallery

    if all_styles:
        ready, left_out = styles_at_hand()
        styles = tuple(ready)
        if left_out:
            click.echo(
                f"--all-styles: left out {', '.join(left_out)} (their models' weights would download; "
                "name them with -s to fetch them)",
                err=True,
            )
    overrides = dict(given(ctx, params, DreamSpec).values)
    finished: list[Any] = []
    stages = Stages(quiet)
    with stages, tqdm(total=0, disable=quiet, desc="gallery", unit="render") as bar:

        def on_result(result: Any) -> None:
            finished.append(result)
            if result.status != "skipped":
                bar.update(1)
                bar.set_postfix_str(f"{Path(result.job.photo).name} x {result.job.style}")

        try:
            report = gallery(
                photos,
                styles,
                out_dir,
                overrides=overrides,
                force=force,
                workers=workers,
                env=run_env(ctx, params),
                executor=executor,
                address=address,
                shared_storage=shared_storage,
                on_start=lambda n: stages.close() or bar.reset(total=n),
                on_result=on_result,
                on_progress=stages.update,
            )
        except KeyboardInterrupt:
            kept = sum(r.status in ("done", "skipped") for r in finished)
            click.echo(
                f"interrupted: {kept} images kept in {out_dir} (listed in manifest.json); "
                "run the same command again to render the rest",
                err=True,
            )
            ctx.exit(130)
    n = {s: sum(r.status == s for r in report.results) for s in ("done", "skipped", "failed")}
    click.echo(f"{out_dir / 'index.html'}: {n['done']} rendered, {n['skipped']} already there, {n['failed']} failed")
    per_node = Counter(r.node for r in report.results if r.status == "done" and r.node)
    if per_node:
        click.echo("per node: " + ", ".join(f"{node} {n}" for node, n in sorted(per_node.items())))
    retried = sum(bool(r.retries) for r in report.results)
    if retried:
        click.echo(f"{retried} jobs were sent again after a worker died (see manifest.json)")
    for item in report.missing:
        click.echo(f"error: {item}", err=True)
    for result in report.failed:
        click.echo(f"error: {result.error} (style {result.job.style})", err=True)
    if report.failed or report.missing:
        ctx.exit(1)


class Stages:
    """One transient progress bar per stage before the renders (planning, checking what is done)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None
        self.stage = ""

    def update(self, stage: str, done: int, total: int) -> None:
        """Show ``done`` of ``total`` for ``stage`` (a new stage closes the last one's bar)."""
        from tqdm.auto import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, disable=self.quiet, desc=stage, leave=False, unit="")
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        """Close the bar shown."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def status_lines(folder: Path) -> list[str]:
    """``dreamer gallery --status``: whether a run is writing ``folder``, its jobs by status and by node."""
    from dreamer.outputs.folders import read_record
    from dreamer.runners.lock import lock_holder
    from dreamer.runners.store import gallery_status

    found = gallery_status(folder)
    if found is None:  # a gallery made before the store: its manifest
        record = read_record(folder / "manifest.json")
        jobs = record.get("jobs") if record is not None else None
        if not isinstance(jobs, list):
            raise DreamerError(f"{folder}: not a gallery folder (no gallery.sqlite or manifest.json there)")
        found = (
            Counter(j.get("status") for j in jobs if isinstance(j, dict)),
            Counter(j.get("node") for j in jobs if isinstance(j, dict) and j.get("status") == "done" and j.get("node")),
        )
    by_status, by_node = found
    holder = lock_holder(folder)
    state = f"running (pid {holder})" if holder else "stopped"
    words = {"done": "done", "skipped": "already there", "failed": "failed", "pending": "pending"}
    counts = ", ".join(f"{by_status.get(s, 0):,} {word}" for s, word in words.items())
    unknown = sum(n for s, n in by_status.items() if s not in words)  # a store or manifest edited by hand
    if unknown:
        counts += f", {unknown:,} with a status that is not one of {', '.join(words)}"
    lines = [f"{folder}: {state}; {sum(by_status.values()):,} jobs: {counts}"]
    if by_node:
        nodes = sorted((str(node), n) for node, n in by_node.items())  # str: a hand-edited store may hold numbers
        lines.append("by node: " + ", ".join(f"{node} {n:,}" for node, n in nodes))
    return lines

"""The ``dreamer`` command group: library errors become one line naming the flag at fault, Ctrl-C exit status 130."""

from __future__ import annotations

import warnings
from typing import Any

import click

from dreamer.cli.options import flag
from dreamer.errors import DreamerError, DreamerWarning, one_line
from dreamer.spec.schema import QUICK_ENV, quick_trial
from dreamer.version import DISTRIBUTION, __version__

NO_WORK = {"styles", "info", "layers", "doctor"}  # commands that render nothing


def _show_warning(message: Any, category: type[Warning], *_args: Any, **_kwargs: Any) -> None:
    click.echo(f"warning: {message}", err=True)


class DreamerGroup(click.Group):
    """Turns library errors into one-line messages and Ctrl-C into exit status 130."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command with dreamer's error, warning and interrupt handling."""
        with warnings.catch_warnings():
            warnings.simplefilter("always", DreamerWarning)
            warnings.showwarning = _show_warning
            try:
                return super().invoke(ctx)
            except DreamerError as exc:  # its field is spelled as the command's flag
                command = ctx.invoked_subcommand
                raise click.ClickException(one_line(exc.spelled(lambda name: flag(name, command)))) from None
            except KeyboardInterrupt:
                click.echo("interrupted: stopped before finishing; no partial output was written", err=True)
                ctx.exit(130)


@click.group(cls=DreamerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dreamer", message=f"%(prog)s %(version)s (pip install {DISTRIBUTION})")
def cli() -> None:
    """DeepDream and feature visualisation: make a network's features visible in your photos."""
    ctx = click.get_current_context()
    if quick_trial() and ctx.invoked_subcommand not in NO_WORK:
        click.echo(f"quick trial ({QUICK_ENV} is set): sizes, steps and frames are capped small", err=True)

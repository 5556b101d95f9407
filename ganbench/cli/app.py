"""The ``ganbench`` command line.

User errors (``UsageError`` from anywhere, click's own usage errors) print
one line and exit with code 2; nothing else is caught.
"""

from __future__ import annotations

import sys
import warnings

import click

from ganbench import __version__
from ganbench.plugins import PluginLoadWarning, add_commands, debug_enabled, set_debug
from ganbench.store.jsonl import StoreWarning
from ganbench.system.errors import UsageError
from ganbench.system.install_check import mismatch_message


class GanbenchGroup(click.Group):
    """A click group whose every user error is one line on stderr and exit code 2.

    Plugins are loaded when a command is first looked up (after ``--debug``
    is parsed), and add their own commands then.
    """

    def main(self, args=None, prog_name=None, standalone_mode=True, **extra):
        set_debug(False)
        with warnings.catch_warnings():
            warnings.simplefilter("always", PluginLoadWarning)
            warnings.showwarning = _show_warning
            return self._main(args, prog_name, **extra)

    def _main(self, args, prog_name, **extra):
        try:
            return super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help())
            sys.exit(0)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(1)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except RuntimeError as exc:  # a torchvision built for another torch, wherever it is first imported
            message = mismatch_message(exc)
            if message is None:
                raise
            click.echo(f"Error: {message}", err=True)
            sys.exit(2)

    def list_commands(self, ctx):
        add_commands(self)
        return super().list_commands(ctx)

    def get_command(self, ctx, cmd_name):
        add_commands(self)
        return super().get_command(ctx, cmd_name)


def _debug_option(ctx, param, value):
    if value:
        set_debug(True)


@click.group(cls=GanbenchGroup)
@click.version_option(__version__, prog_name="ganbench")
@click.option("--debug", is_flag=True, is_eager=True, expose_value=False, callback=_debug_option,
              help="Show the traceback of every plugin problem (also: GANBENCH_DEBUG=1).")
def cli():
    """Benchmark the representations GANs learn: train, probe, compare."""


def _add_commands() -> None:
    from ganbench.cli.compare import compare_command
    from ganbench.cli.leaderboard import leaderboard_command
    from ganbench.cli.listing import list_command, plugins_command
    from ganbench.cli.results import results_group
    from ganbench.cli.run import run_command, sweep_command
    from ganbench.cli.show import show_group

    for command in (list_command, plugins_command, run_command, sweep_command, results_group, compare_command,
                    leaderboard_command, show_group):
        cli.add_command(command)


_add_commands()


# -- entry point ------------------------------------------------------------
def _show_warning(message, category, filename, lineno, file=None, line=None):
    if issubclass(category, (PluginLoadWarning, StoreWarning)):
        click.echo(f"warning: {message}", err=True)
        if debug_enabled() and getattr(message, "traceback", ""):
            click.echo(message.traceback.rstrip(), err=True)
    else:
        _default_show(message, category, filename, lineno, file, line)


_default_show = warnings.showwarning


def main(argv=None):
    """Console entry point."""
    cli.main(args=argv, prog_name="ganbench")

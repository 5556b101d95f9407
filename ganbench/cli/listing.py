"""``ganbench list`` and ``ganbench plugins``: what is registered, and the health of every plugin."""

from __future__ import annotations

import textwrap

import click

from ganbench.plugins import get_registry, plugin_infos
from ganbench.reports.tables import WIDTH, fit_widths, shorten, text_table

KIND_OF = {"models": "model", "probes": "probe", "datasets": "dataset", "executors": "executor"}


def _capabilities(kind: str, spec) -> str:
    if kind == "model":  # its category first (ModelSpec.category: what the leaderboard takes it for)
        caps = sorted(spec.capabilities) + (["trains on labels"] if spec.trains_on_labels else [])
        return f"{spec.category}: " + ", ".join(caps)
    if kind == "probe":
        return "needs " + ", ".join(sorted(spec.requires))
    return ""


def _spec_table(kind: str, specs, long: bool) -> str:
    """name, version, plugin, [category: capabilities (models) or requirements (probes),] description; within
    :data:`WIDTH` columns.

    The description is cut to one line (``…``) unless ``long``, which wraps it whole.
    """
    has_caps = kind in ("model", "probe")
    caps_header = "category: capabilities" if kind == "model" else "capabilities"
    headers = ["name", "version", "plugin"] + ([caps_header] if has_caps else []) + ["description"]
    rows = [[s.name, s.version, s.plugin] + ([_capabilities(kind, s)] if has_caps else []) + [s.description]
            for s in specs]
    if has_caps:  # capabilities wrap at 20 columns
        widths = fit_widths(headers[:3] + headers[4:], [r[:3] + r[4:] for r in rows])
        caps = min(20, max(len(r[3]) for r in rows))
        widths = widths[:3] + [caps] + [max(20, widths[3] - caps - 2)]
    else:
        widths = fit_widths(headers, rows)
    if not long:
        for row in rows:
            row[-1] = shorten(row[-1], widths[-1])
    return text_table(headers, rows, widths)


def _option_lines(spec) -> list[str]:
    """One wrapped paragraph per option: name, type, default, range or choices, help."""
    lines = []
    for opt in spec.options:
        facts = [opt.type, f"default {opt.default!r}"]
        if getattr(opt, "choices", None) is not None:
            facts.append("one of " + ", ".join(str(c) for c in opt.choices))
        low, high = getattr(opt, "minimum", None), getattr(opt, "maximum", None)
        bounds = []
        if low is not None:
            bounds.append(f"{'>' if opt.exclusive_minimum else '>='} {low}")
        if high is not None:
            bounds.append(f"{'<' if opt.exclusive_maximum else '<='} {high}")
        if bounds:
            facts.append(" and ".join(bounds))
        text = f"{spec.name}.{opt.name} ({'; '.join(facts)}): {' '.join(opt.help.split())}"
        lines.append(textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="      ",
                                   break_on_hyphens=False))
    return lines


def model_views(spec) -> dict[str, str]:
    """The spec's declared views, else those of the model built with its default options."""
    if spec.views is not None:
        return dict(spec.views)
    defaults = {o.name: o.default for o in spec.options}
    return dict(spec.factory(**defaults).feature_views())


def _view_lines(spec) -> list[str]:
    try:
        views = model_views(spec)
    except Exception as exc:  # a plugin's model that cannot be built with its defaults
        return [f"  {spec.name}: views unknown ({type(exc).__name__}: {exc})"]
    lines = [f"  {spec.name}:" + ("" if views else " no feature views")]
    for view, description in views.items():
        lines.append(textwrap.fill(f"{view}: {' '.join(description.split())}", WIDTH, initial_indent="    ",
                                   subsequent_indent="        "))
    return lines


@click.command("list")
@click.argument("what", type=click.Choice(sorted(KIND_OF)), required=False)
@click.option("--options", "show_options", is_flag=True,
              help="Show every option: type, default, range or choices, help.")
@click.option("--views", "show_views", is_flag=True, help="Show every model's feature views.")
@click.option("--long", "long", is_flag=True, help="Full descriptions, wrapped, instead of one line each.")
def list_command(what, show_options, show_views, long):
    """List models, probes, datasets and executors."""
    registry = get_registry()
    for group in [what] if what else sorted(KIND_OF):
        kind = KIND_OF[group]
        specs = registry.all(kind)
        click.echo(f"{group}:")
        click.echo(_spec_table(kind, specs, long) if specs else "  none")
        if show_views and kind == "model":
            click.echo("\nfeature views:")
            for spec in specs:
                click.echo("\n".join(_view_lines(spec)))
        if show_options and any(spec.options for spec in specs):
            click.echo("\noptions:")
            for spec in specs:
                for line in _option_lines(spec):
                    click.echo(line)
        click.echo()


@click.command("plugins")
def plugins_command():
    """List every plugin: name, version, hooks, status; broken or partly loaded ones with what failed."""
    rows, problems = [], []
    for info in plugin_infos():
        status = info.status
        hooks = [h + (" (failed)" if h in info.failed_hooks else "") for h in info.hooks]
        rows.append([info.name, info.version, ", ".join(hooks) or "-", status])
        problems += [f"{info.name}: {text}" for text in ([info.error] if info.error else []) + list(info.failed_hooks.values())]
    widths = [min(32, max(len(r[0]) for r in rows + [["plugin"]])), 24, 0, len("partly loaded")]
    widths[2] = WIDTH - sum(widths) - 6
    click.echo(text_table(["plugin", "version", "hooks", "status"], rows, widths))
    if problems:
        click.echo("\nproblems:")
        for text in problems:
            click.echo(textwrap.fill(text, WIDTH, initial_indent="  ", subsequent_indent="    "))

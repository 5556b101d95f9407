import click
@click.group("show")
def show_group():
    """Pictures."""

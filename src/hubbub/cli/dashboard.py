"""``hubbub dashboard``: a fresh one-time link that signs the local human in to the dashboard
(asked of the running hub with the admin key), printed and opened in a browser."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from hubbub.cli.hub import JsonFlag, connected
from hubbub.cli.output import console, emit


def dashboard(
    user: Annotated[
        str | None,
        typer.Option(
            "--user",
            help="Sign in as this user (default: the local human, named after your "
            "operating system user, or 'admin').",
            show_default=False,
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Only print the link; open no browser.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print a one-time dashboard link (valid 10 minutes, usable once) and open it."""
    name = user or _local_user()
    with connected() as client:
        link = client.login_link(name)
        url = client.settings.url.rstrip("/") + link.path

    def show(_: object) -> None:
        console.print(f"Dashboard for {link.user} (one-time link, valid 10 minutes):")
        console.print(url, soft_wrap=True, markup=False, highlight=False)

    emit(link, as_json, show)
    if not no_browser and not as_json:
        _open(url)


def _local_user() -> str:
    """The local human's user name, as the hub's first start chose it."""
    import getpass

    from hubbub.core.users import local_name

    try:
        return local_name(getpass.getuser())
    except (KeyError, OSError):  # no name for this uid
        return local_name("")


def _open(url: str) -> None:
    """Open ``url`` in a browser where there is one; never fail where there is none. On a
    Linux machine without a display only a browser named in ``$BROWSER`` is tried, never a
    text browser that would take over the terminal."""
    import webbrowser

    graphical = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    if sys.platform.startswith("linux") and not graphical and "BROWSER" not in os.environ:
        return
    try:
        webbrowser.open(url)
    except Exception:  # no browser, no display: the printed link is enough
        return

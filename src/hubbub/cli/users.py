"""``hubbub users``: create, list, re-password and disable human users (needs the admin
key)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from hubbub.cli.hub import JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import User

app = typer.Typer(help="Human user accounts (needs the admin key).", no_args_is_help=True)

PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Read the password from the first line of stdin (for scripts)."
    ),
]
NameArgument = Annotated[str, typer.Argument(help="The user name.")]


def _password(from_stdin: bool) -> str:
    """The password from stdin's first line, or prompted twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@app.command("list")
def list_users(as_json: JsonFlag = False) -> None:
    """List users (never their password hashes)."""
    with connected() as client:
        found = client.users()

    def show(rows: list[User]) -> None:
        from rich.table import Table

        table = Table("name", "created", "admin", "disabled")
        for row in rows:
            table.add_row(
                row.name,
                ago(row.created_at),
                "yes" if row.admin else "",
                "yes" if row.disabled else "",
            )
        console.print(table)

    emit(found, as_json, show)


@app.command("create")
def create(
    name: NameArgument,
    password_stdin: PasswordStdin = False,
    admin: Annotated[
        bool, typer.Option("--admin", help="Make the user an admin (an admin credential).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create a user; the password is prompted for (or read with --password-stdin)."""
    password = _password(password_stdin)
    with connected() as client:
        made = client.create_user(name, password, admin)
    shown = "Admin user" if admin else "User"
    emit(made, as_json, lambda u: console.print(f"{shown} {u.name} created."))


@app.command("admin")
def admin(
    name: NameArgument,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Take the admin flag back (its sessions end).")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Make a user an admin, or take it back with --revoke."""
    with connected() as client:
        changed = client.set_user_admin(name, not revoke)
    said = "is no longer an admin" if revoke else "is an admin"
    emit(changed, as_json, lambda u: console.print(f"User {u.name} {said}."))


@app.command("passwd")
def passwd(
    name: NameArgument, password_stdin: PasswordStdin = False, as_json: JsonFlag = False
) -> None:
    """Set a user's password."""
    password = _password(password_stdin)
    with connected() as client:
        changed = client.set_password(name, password)
    emit(changed, as_json, lambda u: console.print(f"Password of {u.name} changed."))


@app.command("disable")
def disable(name: NameArgument, as_json: JsonFlag = False) -> None:
    """Disable a user: it can no longer log in."""
    with connected() as client:
        done = client.disable_user(name)
    emit(done, as_json, lambda u: console.print(f"User {u.name} disabled."))

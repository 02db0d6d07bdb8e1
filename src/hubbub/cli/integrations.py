"""``hubbub integrations``: create, list and revoke integrations and show their webhook
deliveries (needs the admin key)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from hubbub.cli.hub import JsonFlag, connected
from hubbub.cli.output import ago, console, emit

if TYPE_CHECKING:
    from hubbub.core.models import Integration, NewIntegration, WebhookDelivery

app = typer.Typer(
    help="Integrations: scoped tokens for alerting, CI and ticket systems, and their "
    "webhooks (needs the admin key).",
    no_args_is_help=True,
)


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Its name, also the agent it acts as.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            help="What it may do (repeat): tasks:create, tasks:read, tasks:update, "
            "messages:write, messages:read, metrics:read, a2a.",
        ),
    ] = None,
    target: Annotated[
        list[str] | None,
        typer.Option("--target", help="A target it may address (repeat): #ops, cap:deploy, tag:*."),
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option("--channel", help="A channel it may post to and read (repeat): ops, ops-*."),
    ] = None,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests a second its token may make (default 20).")
    ] = None,
    burst: Annotated[
        float | None, typer.Option(help="Requests it may burst above the rate (default 40).")
    ] = None,
    webhook: Annotated[
        str | None, typer.Option(help="URL that receives the events of the tasks it creates.")
    ] = None,
    allow_private: Annotated[
        bool,
        typer.Option(
            "--allow-private",
            help="Let the webhook reach addresses the hub otherwise refuses (loopback, private "
            "networks; never a cloud metadata address).",
        ),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Create an integration and print its token (and webhook secret) once."""
    with connected() as client:
        made = client.create_integration(
            name,
            scopes=list(scope or []),
            targets=list(target or []),
            channels=list(channel or []),
            rate_limit=rate_limit,
            rate_burst=burst,
            webhook_url=webhook,
            allow_private=allow_private,
        )

    def show(data: NewIntegration) -> None:
        shown = "token and webhook secret" if data.webhook_secret else "token"
        console.print(f"Integration {data.integration.name} ({shown} shown once, store now):")
        console.print(f"token:          {data.token}", soft_wrap=True, highlight=False)
        if data.webhook_secret:
            console.print(f"webhook secret: {data.webhook_secret}", soft_wrap=True, highlight=False)

    emit(made, as_json, show)


@app.command("list")
def list_integrations(as_json: JsonFlag = False) -> None:
    """List integrations (never their tokens)."""
    with connected() as client:
        found = client.integrations()

    def show(rows: list[Integration]) -> None:
        from rich.table import Table

        table = Table("name", "scopes", "targets", "channels", "webhook", "created", "revoked")
        for row in rows:
            table.add_row(
                row.name,
                " ".join(row.scopes),
                " ".join(row.targets),
                " ".join(row.channels),
                row.webhook_url or "",
                ago(row.created_at),
                ago(row.revoked_at),
            )
        console.print(table)

    emit(found, as_json, show)


@app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="Name from 'hubbub integrations list'.")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke an integration: its token stops working and pending deliveries are dropped."""
    with connected() as client:
        info = client.revoke_integration(name)
    emit(info, as_json, lambda d: console.print(f"Integration {d.name} revoked."))


@app.command("deliveries")
def deliveries(
    name: Annotated[str, typer.Argument(help="The integration.")],
    status: Annotated[
        str | None, typer.Option(help="Only pending, delivered or dead deliveries.")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Show an integration's webhook deliveries, newest first."""
    with connected() as client:
        found = client.integration_deliveries(name, status=status, limit=limit)

    def show(rows: list[WebhookDelivery]) -> None:
        from rich.table import Table

        table = Table("id", "event", "task", "status", "attempts", "last", "error", "created")
        for row in rows:
            table.add_row(
                str(row.id),
                row.event_type,
                "" if row.task_id is None else str(row.task_id),
                row.status,
                str(row.attempts),
                "" if row.last_status is None else str(row.last_status),
                row.last_error or "",
                ago(row.created_at),
            )
        console.print(table)

    emit(found, as_json, show)

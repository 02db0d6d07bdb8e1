"""``hubbub tools``: list the agent tools, export their declarations for an LLM API, or call
one against the hub (the same executor a function-calling loop uses)."""

from __future__ import annotations

import asyncio
import json
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from hubbub.cli.hub import AgentOption, JsonFlag
from hubbub.cli.output import EXIT_ERROR, console, reporting

if TYPE_CHECKING:
    from hubbub.tools.registry import ToolResult

app = typer.Typer(
    help="The agent tools: list them, export them for an LLM API, or call one.",
    no_args_is_help=True,
)


class SurfaceChoice(StrEnum):
    """Which tools: the compact default set or every operation."""

    compact = "compact"
    full = "full"


class FormatChoice(StrEnum):
    """The declaration format of an export."""

    openai = "openai"
    openai_responses = "openai-responses"
    anthropic = "anthropic"
    gemini = "gemini"
    mcp = "mcp"


# The compact surface's size, written out: loading the registry to count it would slow the
# start of every command that shows this option. A test holds it to the registry.
COMPACT_TOOLS = 13

SurfaceOption = Annotated[
    SurfaceChoice,
    typer.Option(
        "--tools", help=f"compact (the {COMPACT_TOOLS} everyday tools) or full (every operation)."
    ),
]


@app.command("list")
def list_tools(surface: SurfaceOption = SurfaceChoice.compact, as_json: JsonFlag = False) -> None:
    """List the tools of a surface with what each is for."""
    from hubbub.tools.registry import tools

    chosen = tools(surface.value)
    if as_json:
        rows = [{"name": t.name, "title": t.title, "description": t.description} for t in chosen]
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for tool in chosen:
        console.print(f"[bold]{tool.name}[/bold]  {escape(tool.description)}", highlight=False)


@app.command("export")
def export(
    format: Annotated[
        FormatChoice, typer.Option("--format", help="The API whose tool declarations to print.")
    ],
    surface: SurfaceOption = SurfaceChoice.compact,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict/--no-strict",
            help="OpenAI formats: strict mode (every property required, optional ones nullable).",
        ),
    ] = True,
) -> None:
    """Print the tool declarations as JSON, ready for an API request's ``tools``."""
    from hubbub.tools.exports import export as declarations

    typer.echo(json.dumps(declarations(format.value, surface.value, strict=strict), indent=2))


@app.command("call")
def call(
    name: Annotated[str, typer.Argument(help="The tool, e.g. hubbub_send.")],
    arguments: Annotated[
        str, typer.Argument(help='Its arguments as a JSON object, e.g. \'{"to": "#general"}\'.')
    ] = "{}",
    agent: AgentOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Call one tool against the hub and print its text (``--json``: its structured
    result). A tool error prints on stderr and exits 1."""
    with reporting():
        result = asyncio.run(_call(name, arguments, agent))
    if result.is_error:
        typer.echo(f"error: {result.text}", err=True)
        raise typer.Exit(EXIT_ERROR)
    typer.echo(
        json.dumps(result.structured, indent=2, ensure_ascii=False) if as_json else result.text
    )


async def _call(name: str, arguments: str, agent: str | None) -> ToolResult:
    from hubbub.client import AsyncClient
    from hubbub.tools.executor import Executor

    async with AsyncClient(agent=agent) as client:
        return await Executor(client).execute(name, arguments)

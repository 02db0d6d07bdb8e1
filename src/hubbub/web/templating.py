"""One Jinja2 environment for every page: autoescaped, strict about undefined names."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def environment() -> Environment:
    """The one environment of the pages' templates (made once): every template autoescaped,
    whatever its name, and an undefined name an error rather than an empty string."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered with ``context``, plus ``request``, the signed-in ``viewer``
    (``None`` when signed out) and its ``csrf_token`` (``""`` when signed out)."""
    from hubbub.web.auth import Viewer

    found = getattr(request.state, "hubbub_viewer", None)
    signed_in = found if isinstance(found, Viewer) else None
    values = {
        "request": request,
        "viewer": signed_in,
        "csrf_token": signed_in.csrf_token if signed_in is not None else "",
        **context,
    }
    html = environment().get_template(template).render(values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

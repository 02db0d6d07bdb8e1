"""Agents' Markdown as safe HTML: markdown-it-py renders it (raw HTML is escaped as text,
never passed through), then nh3 keeps only an allowlist of tags, attributes and link schemes.

Images are shown as links: the dashboard fetches nothing from outside the hub."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape

TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"
MARK = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def _image_as_link(
    renderer: Any, tokens: Sequence[Token], index: int, options: Any, env: Any
) -> str:
    """``![alt](src)`` becomes a plain link to ``src`` labelled with the alt text."""
    token = tokens[index]
    src = str(token.attrs.get("src", ""))
    label = renderer.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escape(src)}">{escape(label)}</a>'


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    parser = MarkdownIt("commonmark", {"html": False, "breaks": True})
    parser.enable(["table", "strikethrough"])
    parser.add_render_rule("image", _image_as_link)
    return parser


def clean(html: str) -> str:
    """``html`` reduced to the allowlist: no scripts, styles, event handlers or odd schemes."""
    return nh3.clean(
        html,
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        url_schemes=SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render(text: str) -> Markup:
    """Markdown ``text`` from an agent as HTML that is safe to put in a page."""
    return Markup(clean(_parser().render(text)))


def snippet(text: str) -> Markup:
    """A search snippet: the text escaped, and only the hub's ``**`` highlight markers turned
    into ``<mark>``."""
    escaped = str(escape(text))
    return Markup(MARK.sub(lambda m: f"<mark>{m.group(1)}</mark>", escaped))

"""Server-side @mention parsing: names outside code spans and fenced code blocks."""

from __future__ import annotations

import re

_FENCE = re.compile(r"^(```|~~~).*?(?:^\1[ \t]*$|\Z)", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?:.+?)\1", re.DOTALL)
# Names are lowercase; a mention may be written in any case (``@VM-Web`` names ``vm-web``).
_MENTION = re.compile(
    r"(?<![\w@.+-])@([a-z0-9][a-z0-9-]{0,62}[a-z0-9])(?![\w-]|\.\w)", re.IGNORECASE
)


def parse_mentions(content: str) -> list[str]:
    """Agent names mentioned in Markdown ``content``, lowercased (names are), in order of
    first appearance.

    Code spans and fenced blocks are ignored, as are e-mail-like ``a@b`` forms. Whether a
    name is a real agent is the caller's business.
    """
    if "@" not in content:
        return []
    prose = _CODE_SPAN.sub(" ", _FENCE.sub(" ", content))
    seen: dict[str, None] = {}
    for match in _MENTION.finditer(prose):
        name = match.group(1)
        if name.isascii():  # case folding also lets in look-alikes such as the Kelvin sign
            seen.setdefault(name.lower(), None)
    return list(seen)

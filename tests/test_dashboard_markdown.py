"""Agents' Markdown on the dashboard: rendered on the server, raw HTML never passes, links
are marked and limited to safe schemes, search snippets highlight only the hub's markers."""

from __future__ import annotations

import pytest

from hubbub.web.live import frame
from hubbub.web.markdown import render, snippet


def test_markdown_renders_code_tables_lists_and_links() -> None:
    html = str(
        render(
            "**bold** and `code`\n\n```\nx < 1\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\n[site](https://example.com)"
        )
    )
    assert "<strong>bold</strong>" in html
    assert "<pre><code>x &lt; 1\n</code></pre>" in html
    assert "<table>" in html
    assert "<td>1</td>" in html
    assert "<ul>" in html
    assert "<li>two</li>" in html
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer">site</a>' in html


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=https://example.com></iframe>",
        "<style>*{}</style>",
    ],
)
def test_raw_html_is_text(text: str) -> None:
    html = str(render(text))
    assert "<" + text[1:] not in html
    assert "&lt;" in html


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](javascript:alert(1))",
        "[x](<javascript:alert(1)>)",
    ],
)
def test_unsafe_link_schemes_never_become_links(text: str) -> None:
    html = str(render(text)).lower()
    assert 'href="javascript' not in html
    assert 'href="vbscript' not in html
    assert 'href="data' not in html


def test_images_become_links_and_nothing_is_fetched() -> None:
    html = str(render('![a "pic"](https://example.com/p.png)'))
    assert "<img" not in html
    assert 'href="https://example.com/p.png"' in html
    assert "a &quot;pic&quot;" in html or 'a "pic"' in html


def test_snippet_escapes_and_marks_only_the_hub_markers() -> None:
    assert str(snippet("a **<b>hit</b>** <i>x</i>")) == (
        "a <mark>&lt;b&gt;hit&lt;/b&gt;</mark> &lt;i&gt;x&lt;/i&gt;"
    )


def test_frames_keep_fragments_on_data_lines() -> None:
    assert frame(7, "message.posted", "<p>a\r\nb\rc</p>") == (
        b"id: 7\r\nevent: message.posted\r\ndata: <p>a\r\ndata: b\r\ndata: c</p>\r\n\r\n"
    )

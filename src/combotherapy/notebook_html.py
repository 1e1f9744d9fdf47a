"""An executed notebook as one self-contained HTML page, with the same bytes on every run.

``combotherapy reproduce`` writes the executed copy of each notebook beside its outputs
(``results/<notebook>/<notebook>.html``) so a reviewer can read the prose, the code, the printed
tables and the figures without running anything. nbconvert is not needed: this module reads the
``nbformat`` object and writes markdown cells through a small converter that escapes everything
it does not recognise, code cells as preformatted text, and each output by its richest type
(PNG figures as ``data:`` URIs, HTML tables as the library wrote them, text as text).

The page carries no execution counts, timings, kernel or cell metadata, dates or random ids, and
machine paths are replaced by the repository-relative names given in ``paths``: the bytes depend
only on the notebook's text and on what its cells printed.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["render", "markdown_to_html"]

#: output types in the order they are preferred when an output offers several
_PREFERRED = ("image/png", "image/jpeg", "image/svg+xml", "text/html", "text/markdown", "text/plain")

#: cells with these tags are left out of the page (reproduce's own set-up cell)
HIDDEN_TAGS = frozenset({"hide-in-html"})

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SAFE_URL = re.compile(r"^(https?://|mailto:|#|\.{0,2}/?[\w\-./#]+$)", re.I)

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a}
h1,h2,h3{line-height:1.25}
pre{background:#f6f8fa;padding:.6rem .8rem;overflow-x:auto;font-size:.85rem;line-height:1.35;white-space:pre}
code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.9em}
.cell-code pre{border-left:3px solid #5b8bd6}
.output pre{background:#fff;border-left:3px solid #bbb;white-space:pre-wrap;overflow-wrap:anywhere}
.injected{font-size:.85rem;color:#555;margin:.2rem 0}
.output pre.stderr{background:#fff6e5;border-left-color:#e0a030}
.output pre.error{background:#fdecea;border-left-color:#c62828}
.output img{max-width:100%;height:auto}
.output{overflow-x:auto;margin-bottom:1rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
blockquote{border-left:3px solid #ccc;margin-left:0;padding-left:1rem;color:#444}
@media print{pre{white-space:pre-wrap}}
"""


def _inline(text: str) -> str:
    """Inline markdown (code spans, links, bold, italics) of one escaped-as-we-go line of text."""
    out: list[str] = []
    pos = 0
    pattern = re.compile(r"`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)")
    for m in pattern.finditer(text):
        out.append(_emphasis(html.escape(text[pos:m.start()], quote=False)))
        if m.group(1) is not None:
            out.append(f"<code>{html.escape(m.group(1), quote=False)}</code>")
        else:
            label, url = m.group(2), m.group(3)
            if _SAFE_URL.match(url):
                out.append(f'<a href="{html.escape(url)}">{_emphasis(html.escape(label, quote=False))}</a>')
            else:
                out.append(_emphasis(html.escape(m.group(0), quote=False)))
        pos = m.end()
    out.append(_emphasis(html.escape(text[pos:], quote=False)))
    return "".join(out)


def _emphasis(escaped: str) -> str:
    escaped = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", escaped)
    escaped = re.sub(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])", r"<em>\1</em>", escaped)
    return re.sub(r"(?<![\w_])_(?=\S)([^_]+?)(?<=\S)_(?![\w_])", r"<em>\1</em>", escaped)


def _table(rows: list[str]) -> str:
    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    head, body = cells(rows[0]), [cells(r) for r in rows[2:]]
    parts = ["<table>", "<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr></thead>", "<tbody>"]
    parts += ["<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in body]
    return "\n".join([*parts, "</tbody>", "</table>"])


_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")


def markdown_to_html(text: str) -> str:
    """A small, safe subset of markdown as HTML.

    Headings, paragraphs, bullet and numbered lists (one level; indented lines continue an item),
    fenced code blocks, block quotes, pipe tables, code spans, links (http, https, mailto and
    relative only), bold and italics. Anything else, raw HTML included, is shown as escaped text.

    Parameters
    ----------
    text : str
        Markdown source of one cell.

    Returns
    -------
    str
        HTML fragment.

    Example
    -------
    >>> markdown_to_html("# Title\\n\\nSome *text* and `code` <b>.")
    '<h1>Title</h1>\\n<p>Some <em>text</em> and <code>code</code> &lt;b&gt;.</p>'
    """
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        if stripped.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith("```"):
                j += 1
            code = "\n".join(lines[i + 1:j])
            blocks.append(f"<pre><code>{html.escape(code, quote=False)}</code></pre>")
            i = j + 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", stripped)
        if heading:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        if stripped.startswith(">"):
            quote = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quote.append(lines[i].strip()[1:].lstrip())
                i += 1
            blocks.append(f"<blockquote>\n{markdown_to_html(chr(10).join(quote))}\n</blockquote>")
            continue
        if stripped.startswith("|") and i + 1 < len(lines) and re.match(r"^\s*\|?[\s:|-]+\|[\s:|-]*$", lines[i + 1]):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append(lines[i])
                i += 1
            blocks.append(_table(rows))
            continue
        item = _LIST_ITEM.match(line)
        if item:
            ordered = item.group(2)[0].isdigit()
            items: list[str] = []
            while i < len(lines):
                m = _LIST_ITEM.match(lines[i])
                if m and (m.group(2)[0].isdigit()) == ordered:
                    items.append(m.group(3).strip())
                elif lines[i].strip() and lines[i][:1].isspace() and items:
                    items[-1] += " " + lines[i].strip()
                else:
                    break
                i += 1
            tag = "ol" if ordered else "ul"
            first = int(re.sub(r"\D", "", item.group(2))) if ordered else 1
            start = f' start="{first}"' if first != 1 else ""
            blocks.append(f"<{tag}{start}>\n" + "\n".join(f"<li>{_inline(x)}</li>" for x in items) + f"\n</{tag}>")
            continue
        para = []
        while i < len(lines) and lines[i].strip() and not _starts_block(lines[i]):
            para.append(lines[i].strip())
            i += 1
        if not para:  # a line that looks like a block start but is not one: keep it as text
            para.append(stripped)
            i += 1
        blocks.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(blocks)


def _starts_block(line: str) -> bool:
    s = line.strip()
    return bool(s.startswith(("```", "#", ">", "|")) or _LIST_ITEM.match(line))


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _clean(text: str, paths: Mapping[str, str]) -> str:
    text = _ANSI.sub("", text)
    for machine, shown in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        if machine:
            text = text.replace(machine, shown)
    return text


def _output(out: Mapping[str, Any], paths: Mapping[str, str]) -> str:
    kind = out.get("output_type")
    if kind == "stream":
        name = "stderr" if out.get("name") == "stderr" else "stdout"
        return f'<pre class="{name}">{html.escape(_clean(_text(out.get("text", "")), paths), quote=False)}</pre>'
    if kind == "error":
        trace = _clean("\n".join(out.get("traceback", [])) or f"{out.get('ename')}: {out.get('evalue')}", paths)
        return f'<pre class="error">{html.escape(trace, quote=False)}</pre>'
    data = out.get("data", {})
    for mime in _PREFERRED:
        if mime not in data:
            continue
        value = _text(data[mime])
        if mime in ("image/png", "image/jpeg"):
            b64 = re.sub(r"\s+", "", value)
            return f'<img alt="figure" src="data:{mime};base64,{b64}">'
        if mime in ("image/svg+xml", "text/html"):
            return _clean(value, paths)
        if mime == "text/markdown":
            return markdown_to_html(_clean(value, paths))
        return f"<pre>{html.escape(_clean(value, paths), quote=False)}</pre>"
    return ""


def _coalesced(outputs: list) -> list:
    """Consecutive stream outputs of one stream as one: the kernel sends printed text in as many chunks as its
    timing makes (the same cell's text came in one chunk on one run and two on another), so the page must not
    depend on where the chunks were cut."""
    merged: list = []
    for out in outputs:
        prev = merged[-1] if merged else None
        if (out.get("output_type") == "stream" and prev is not None and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")):
            merged[-1] = {**prev, "text": _text(prev.get("text", "")) + _text(out.get("text", ""))}
        else:
            merged.append(out)
    return merged


def render(nb: Any, *, title: str | None = None, paths: Mapping[str, str] | None = None) -> str:
    """An executed notebook as a self-contained HTML page whose bytes depend only on its content.

    Parameters
    ----------
    nb : nbformat.NotebookNode or dict
        The notebook, usually just executed (nbformat version 4).
    title : str, optional
        Page title; default the text of the first heading.
    paths : mapping of str to str, optional
        Machine paths to replace in code and outputs (``{"/home/me/repo": ".."}``), longest first, so the page
        is the same wherever the notebook ran.

    Returns
    -------
    str
        The page, ending with a newline. Cells tagged ``hide-in-html`` are left out, and those tagged
        ``injected-parameters`` are captioned as set by ``combotherapy reproduce``; execution counts, cell and
        output metadata are never written.

    Example
    -------
    >>> nb = {"cells": [{"cell_type": "markdown", "source": "# Hi"},
    ...                 {"cell_type": "code", "source": "1 + 1", "metadata": {},
    ...                  "outputs": [{"output_type": "execute_result", "data": {"text/plain": "2"}}]}]}
    >>> page = render(nb)
    >>> "<h1>Hi</h1>" in page and "<pre>2</pre>" in page
    True
    """
    paths = dict(paths or {})
    body: list[str] = []
    for cell in nb["cells"]:
        if HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        source = _text(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            body.append(f'<div class="cell-markdown">\n{markdown_to_html(source)}\n</div>')
            if title is None:
                m = re.search(r"^#{1,6}\s+(.+)$", source, flags=re.M)
                title = m.group(1).strip() if m else None
        elif cell.get("cell_type") == "code":
            parts = []
            if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
                parts.append('<p class="injected">Parameters set by <code>combotherapy reproduce</code>:</p>')
            if source.strip():
                parts.append(f'<div class="cell-code"><pre><code>{html.escape(_clean(source, paths), quote=False)}'
                             "</code></pre></div>")
            rendered = [_output(o, paths) for o in _coalesced(cell.get("outputs", []))]
            parts += [f'<div class="output">\n{r}\n</div>' for r in rendered if r]
            body.append("\n".join(parts))
        else:  # raw cells
            body.append(f"<pre>{html.escape(source, quote=False)}</pre>")
    head = (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title or 'notebook')}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n")
    return head + "\n".join(b for b in body if b) + "\n</body>\n</html>\n"

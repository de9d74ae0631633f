"""Untrusted HTML in, safe HTML out (nh3), and plain text for channels without HTML."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "em", "figcaption", "figure",
    "h2", "h3", "h4", "hr", "i", "img", "li", "ol", "p", "pre", "s", "strong", "sub", "sup",
    "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
}


def clean_html(value: str) -> str:
    """Keep formatting, drop scripts, event handlers, styles and unsafe URLs."""
    return nh3.clean(
        value or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_BLOCK_END = re.compile(r"</(p|div|li|h[1-6]|blockquote|tr|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"[ \t]+")
_BLANKS = re.compile(r"\n{3,}")


def html_to_text(value: str, trusted: bool = False) -> str:
    """Readable plain text of HTML (paragraphs kept as blank lines); ``trusted`` skips
    sanitising HTML that was already cleaned when it was stored."""
    text = _BLOCK_END.sub("\n\n", value if trusted else clean_html(value))
    text = html.unescape(_TAG.sub("", text))
    lines = [_SPACES.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


#: What XML 1.0 (feeds), XLSX cells and PDF text cannot hold: C0 controls except tab,
#: newline and carriage return, lone surrogates, U+FFFE and U+FFFF.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def printable(value: str) -> str:
    """``value`` without characters a feed, a spreadsheet or a PDF cannot carry. Text that
    enters passes the text policy (``services.text``); this keeps rows stored before it (or
    written around it) from breaking an export."""
    return _UNPRINTABLE.sub("", value) if value else value

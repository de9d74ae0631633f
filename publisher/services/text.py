"""One text policy for every text that enters: API, admin forms, CLI, feeds, DIK forms.

Every service that stores a person's (or a feed's) text passes it through here first:

* Unicode NFC, so one title typed on two keyboards is one title (duplicate checks, sorting);
* lone surrogates are refused: they cannot be stored as UTF-8 (a 500 otherwise);
* control characters other than tab and newline are refused in texts that may hold several
  lines (a body, a comment, a reason) and removed from single-line ones (a title, a name),
  where a NUL, BEL or ESC would break every XML feed and spreadsheet downstream;
* bidi embeddings, overrides and isolates and zero-width characters are removed from titles
  and names: invisible, they make a title read differently from how it sorts, matches and
  looks in a register (a zero-width joiner between two emoji is kept);
* single-line texts lose their line breaks and repeated spaces.

Writers (feeds, XLSX, CSV, PDF) additionally pass rows through
:func:`publisher.sanitize.printable`, for rows stored before this policy existed.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import Invalid

#: C0 controls except tab, newline and carriage return; DEL; C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
#: Bidi marks, embeddings, overrides and isolates; zero-width space, non-joiner, word joiner,
#: invisible operators and the byte-order mark. The zero-width joiner is handled apart.
_INVISIBLE = re.compile("[\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_PICTOGRAPH = "\u2600-\u27bf\ufe0f\U0001f000-\U0001faff"
#: A zero-width joiner that does not join two emoji (where it builds one picture) is removed.
_LONE_JOINER = re.compile(f"(?<![{_PICTOGRAPH}])\u200d|\u200d(?![{_PICTOGRAPH}])")
_SPACES = re.compile(r"\s+")


def _normal(value: object, field: str) -> str:
    text = "" if value is None else str(value)
    if _SURROGATE.search(text):
        raise Invalid("teks memuat karakter Unicode yang rusak (surrogate tunggal); "
                      "ketik ulang atau salin dari sumber lain", field=field)
    return unicodedata.normalize("NFC", text)


def line(value: object, field: str) -> str:
    """A single-line text (a title, a name): normalised, without control characters, line
    breaks, bidi controls or zero-width characters, inner spaces collapsed, trimmed."""
    text = _normal(value, field)
    text = _CONTROL.sub(" ", text)
    text = _LONE_JOINER.sub("", _INVISIBLE.sub("", text))
    return _SPACES.sub(" ", text).strip()


def text(value: object, field: str) -> str:
    """A text of several lines (a body, a comment, a reason): normalised; a control character
    other than tab and newline is refused, naming it; line ends become ``\\n``."""
    result = _normal(value, field).replace("\r\n", "\n").replace("\r", "\n")
    found = _CONTROL.search(result)
    if found:
        raise Invalid(f"teks memuat karakter kendali U+{ord(found.group()):04X} yang tidak "
                      "boleh ada (hanya tab dan baris baru yang boleh)", field=field)
    return result


def scrub(value: object) -> str:
    """Text from outside that nobody typed here (a feed): normalised, with control
    characters (other than tab and newline) and lone surrogates removed instead of refused."""
    raw = "" if value is None else str(value)
    raw = _SURROGATE.sub("", raw).replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", unicodedata.normalize("NFC", raw))


def same_text(a: str, b: str) -> bool:
    """Whether two texts are the same once normalised (NFC, spaces collapsed, case folded):
    for duplicate checks across sources that encode text differently."""
    return key(a) == key(b)


def key(value: str) -> str:
    """The form texts are compared in (see :func:`same_text`)."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip().casefold()

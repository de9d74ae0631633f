"""Reading form state out of a rendered page."""

from __future__ import annotations

import re


def selected(page: str, name: str) -> str | None:
    """The selected option's value of the <select name=...> in ``page``."""
    block = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert block, f"no select {name}"
    chosen = re.findall(r'<option value="([^"]*)" selected>', block.group(1))
    return chosen[0] if len(chosen) == 1 else None

"""Whether an item linked to a DIK entry may go out: one rule for approval, scheduling,
preview and the sender's check before each send."""

from __future__ import annotations

from .models import DikConclusion, DikStatus


def dik_allows(status: str | None, conclusion: str | None, redacted: bool) -> bool:
    """``status``/``conclusion`` of the entry an item points at (None: no entry).

    An item the entry exempts never goes out while the entry is being prepared or is in
    force; after it ended or was opened a person reclassifies the item (unlinks it) first.
    A blacked-out version ("dibuka sebagian") goes out only while the entry in force
    concludes so, or once the whole information is open.
    """
    if status is None:
        return True
    if not redacted:
        return False
    if status == DikStatus.IN_FORCE:
        return conclusion == DikConclusion.PARTIAL
    return status in (DikStatus.OPENED, DikStatus.ENDED)

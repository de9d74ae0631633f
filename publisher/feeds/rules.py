"""The cross-posting rules, as pure functions (no database, no network).

- An entry is new when neither its key (GUID, else link) nor its content hash was seen
  before on that source: an edited entry keeps its GUID, a re-dated or re-linked one keeps its
  content hash, so neither is posted again. A source may switch on *recurring
  announcements*: then an entry under a new GUID with a text seen before is posted when it is
  dated after that text was last seen (the weekly schedule that reads the same every week).
- Every entry left out is recorded with the reason (first poll, older than the source, a text
  seen before), so the source's page can show what was skipped and why.
- The first poll of a source only records what is there (no flood of old news).
- An entry dated more than a day before the source was added is old news that surfaced again
  (e.g. a newer one was deleted from a feed that shows the last ten): recorded, not posted.
  (A day of margin, since feeds round dates and some sites state the wrong zone.)
- New entries go out oldest first, spread by each target channel's minimum interval.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .parse import FeedEntry

#: At most this many new entries become items per poll; the rest wait for the next poll
#: (which comes at once), so one poll never holds a lease for minutes of image fetching.
MAX_NEW_PER_POLL = 20
OLD_MARGIN = timedelta(days=1)


def key_hash(key: str) -> str:
    """SHA-256 of an entry key (GUIDs and links can be long; the unique index is on this)."""
    return hashlib.sha256(key.encode()).hexdigest()


#: Why an entry was recorded without being posted (stored with it; shown on the source page).
FIRST_POLL = "first_poll"
OLDER_THAN_SOURCE = "older_than_source"
SAME_TEXT = "same_text"
SKIP_REASONS = {
    FIRST_POLL: "sudah ada saat sumber ditambahkan (pengambilan pertama hanya mencatat)",
    OLDER_THAN_SOURCE: "bertanggal lebih dari sehari sebelum sumber ditambahkan",
    SAME_TEXT: "teksnya sama dengan entri yang sudah tercatat (GUID lain)",
}


@dataclass(frozen=True)
class Decision:
    """What one poll does with the entries of a feed; ``reasons`` maps the key of each entry
    recorded only to why."""

    post: tuple[FeedEntry, ...]
    record_only: tuple[FeedEntry, ...]
    more_waiting: bool = False
    reasons: dict[str, str] = field(default_factory=dict)


def decide(
    entries: Iterable[FeedEntry],
    seen_keys: set[str],
    seen_hashes: Mapping[str, datetime | None] | set[str],
    *,
    seeded: bool,
    source_created_at: datetime,
    limit: int = MAX_NEW_PER_POLL,
    recurring: bool = False,
) -> Decision:
    """Split a feed's entries into those to post and those only to record as seen.

    ``seen_keys`` are key hashes (:func:`key_hash`) and ``seen_hashes`` content hashes
    already recorded for the source, with when each was last recorded (for ``recurring``).
    """
    fresh: list[FeedEntry] = []
    same: list[FeedEntry] = []
    keys = set(seen_keys)
    last_seen: dict[str, datetime | None] = (
        dict(seen_hashes) if isinstance(seen_hashes, Mapping)
        else dict.fromkeys(seen_hashes))
    for entry in entries:
        kh = key_hash(entry.key)
        if kh in keys:
            continue
        keys.add(kh)
        if entry.content_hash in last_seen:
            when = last_seen[entry.content_hash]
            repeated = (recurring and entry.published is not None and when is not None
                        and entry.published > when)
            if not repeated:
                same.append(entry)
                continue
        last_seen[entry.content_hash] = entry.published
        fresh.append(entry)
    reasons = dict.fromkeys((e.key for e in same), SAME_TEXT)
    if not seeded:
        reasons.update(dict.fromkeys((e.key for e in fresh), FIRST_POLL))
        return Decision(post=(), record_only=tuple(fresh + same), reasons=reasons)
    cutoff = source_created_at - OLD_MARGIN
    old = [e for e in fresh if e.published is not None and e.published < cutoff]
    reasons.update(dict.fromkeys((e.key for e in old), OLDER_THAN_SOURCE))
    new = oldest_first([e for e in fresh if e not in old])
    return Decision(post=tuple(new[:limit]), record_only=tuple(old + same),
                    more_waiting=len(new) > limit, reasons=reasons)


def oldest_first(entries: list[FeedEntry]) -> list[FeedEntry]:
    """Oldest first; undated entries keep feed order reversed (feeds list newest first)."""
    return sorted(entries, key=lambda e: (e.published is None, e.published or datetime.min,
                                          -e.position))


def next_free_time(now: datetime, latest_due: datetime | None, min_interval: int) -> datetime:
    """When a channel may take its next post: ``min_interval`` seconds after its latest."""
    if latest_due is None or min_interval <= 0:
        return now
    return max(now, latest_due + timedelta(seconds=min_interval))

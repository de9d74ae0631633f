"""An external witness of the audit checkpoints.

Whoever can rewrite both the database and the instance folder (but not read the signing key)
could empty the checkpoint file, recompute the chain, and have the next run sign the forged
head. A copy of every checkpoint kept by someone else — an inspectorate's server, another
instance — closes that: the checkpoint writer never signs a head that does not extend the
witness's newest checkpoint, and ``publisher audit verify`` compares the chain with the
witness's copy and says whether it did.

The protocol is plain HTTP at ``PUBLISHER_AUDIT_WITNESS_URL`` (through the outbound guard):

* ``POST`` one checkpoint as a JSON object: the witness keeps it (2xx);
* ``GET ?format=jsonl``: every checkpoint it keeps, one JSON object per line, oldest first.

Checkpoints are signed with the instance's Ed25519 key, so the witness needs no secret of
ours: it may check each against ``publisher audit public-key``. An instance of OPD Publisher
serves the ``GET`` side of its own checkpoints at ``/audit/checkpoints``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from . import checkpoints
from .config import Settings
from .fetch import fetch
from .netguard import OutboundError, safe_session

log = logging.getLogger(__name__)


class WitnessError(Exception):
    """The witness could not be read or did not take a checkpoint."""


def records(settings: Settings) -> list[dict[str, Any]]:
    """Every checkpoint the witness keeps, oldest first (WitnessError when unreadable)."""
    url = settings.audit_witness_url
    if not url:
        return []
    try:
        got = fetch(f"{url}{'&' if '?' in url else '?'}format=jsonl", settings,
                    max_bytes=64 << 20, accept="application/x-ndjson, application/json")
        return list(checkpoints.iter_records(got.content.decode("utf-8").splitlines()))
    except (OutboundError, UnicodeDecodeError, checkpoints.CheckpointError) as exc:
        raise WitnessError(f"saksi {url} tidak dapat dibaca: {exc}") from None


def latest(settings: Settings) -> dict[str, Any] | None:
    """The witness's newest checkpoint (None: no witness, or it keeps none yet)."""
    kept = records(settings)
    return max(kept, key=lambda c: int(c.get("count", 0))) if kept else None


def push(settings: Settings) -> int:
    """Hand the witness every local checkpoint newer than its newest; returns how many.
    Network only: call it with no database session open."""
    url = settings.audit_witness_url
    if not url:
        return 0
    newest = latest(settings)
    have = int(newest.get("count", -1)) if newest else -1
    fresh = [c for c in checkpoints.read_all(settings) if int(c.get("count", 0)) > have]
    if not fresh:
        return 0
    session = safe_session(settings)
    try:
        for record in fresh:
            answer = session.post(url, data=json.dumps(record, sort_keys=True),
                                  headers={"Content-Type": "application/json"},
                                  timeout=float(settings.http_timeout), allow_redirects=False)
            if not 200 <= answer.status_code < 300:
                raise WitnessError(f"saksi {url} menolak checkpoint #{record.get('head_seq')} "
                                   f"(HTTP {answer.status_code})")
    except (OutboundError, OSError) as exc:
        raise WitnessError(f"saksi {url} tidak dapat dihubungi: {exc}") from None
    finally:
        session.close()
    return len(fresh)

"""Jobs that run once a day for the whole cluster (any number of workers check; one runs).

The claim is one conditional UPDATE of the job's row, in the transaction that does the work:
if the worker dies half-way, the claim rolls back with the work and another worker (or the
next check) runs it again. Days are counted in the Pemda's zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Database
from .models import DailyJob
from .timeutil import to_local, utcnow


def run_once_today(db: Database, name: str, worker_id: str, tz_name: str,
                   work: Callable[[Session], Any]) -> Any | None:
    """Run ``work`` if no worker ran job ``name`` today; returns its result, or None when
    another worker already did."""
    now = utcnow()
    today: date = to_local(now, tz_name).date()
    _ensure_row(db, name)
    with db.write() as session:
        result = session.execute(
            update(DailyJob)
            .where(DailyJob.name == name,
                   or_(DailyJob.last_day.is_(None), DailyJob.last_day < today))
            .values(last_day=today, claimed_by=worker_id, ran_at=now)
            .execution_options(synchronize_session=False)
        )
        if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
            return None
        return work(session)


def _ensure_row(db: Database, name: str) -> None:
    with db.read() as session:
        if session.scalar(select(DailyJob.name).where(DailyJob.name == name)) is not None:
            return
    try:
        with db.write() as session:
            session.add(DailyJob(name=name, claimed_by=""))
    except IntegrityError:
        pass  # another worker made it first

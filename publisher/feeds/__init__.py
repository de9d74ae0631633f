"""Cross-posting from OPD website feeds (RSS/Atom): polling, rules and item creation.

The scheduler calls :func:`poll_due_feeds` every few seconds; sources are managed through
:mod:`publisher.services.feeds`.
"""

from .parse import FeedEntry, FeedParseError, parse_feed
from .poll import poll_due_feeds, poll_source

__all__ = ["FeedEntry", "FeedParseError", "parse_feed", "poll_due_feeds", "poll_source"]

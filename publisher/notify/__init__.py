"""Notifications: who is told what, written with the change that causes it (``outbox``), and
sent by the workers (``delivery``)."""

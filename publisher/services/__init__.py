"""Business operations shared by the API, the admin UI, the CLI and the workers.

Each function takes an open session and the acting user, checks access and input, changes
rows, and appends audit events in the same transaction. They raise the errors in
:mod:`publisher.services.errors`, which the API turns into problem+json and the UI into
messages.
"""

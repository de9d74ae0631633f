"""The public, signed checkpoints of the audit chain (``/audit/checkpoints``) and the key
that verifies them (``/audit/public-key``), so anyone can keep their own copy."""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, request
from werkzeug.wrappers import Response

from .. import checkpoints
from ..app import get_runtime

bp = Blueprint("audit_public", __name__)


@bp.get("/audit/checkpoints")
def audit_checkpoints() -> Response:
    """Every checkpoint, oldest first: a JSON list, or JSON lines with ``?format=jsonl``."""
    items = checkpoints.read_all(get_runtime().settings)
    if request.args.get("format") == "jsonl":
        body = "".join(json.dumps(c, sort_keys=True, separators=(",", ":")) + "\n"
                       for c in items)
        return Response(body, mimetype="application/jsonl")
    return jsonify(items)


@bp.get("/audit/public-key")
def audit_public_key() -> Response:
    """The Ed25519 public key: base64 of the raw bytes and PEM."""
    public = checkpoints.signing_key(get_runtime().settings).public_key()
    return jsonify({"algorithm": "Ed25519", "public_key": checkpoints.public_raw_b64(public),
                    "pem": checkpoints.public_pem(public)})

"""Fixity digests of stored files: SHA-256 and SM3 (GB/T 32905)."""

from __future__ import annotations

import hashlib


def digests(data: bytes) -> tuple[str, str]:
    """SHA-256 and SM3 of the bytes, as hex."""
    return hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()

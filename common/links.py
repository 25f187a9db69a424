"""Absolute links for invites, feeds, mails and archives: built on BASE_URL, never on a request's Host."""

from __future__ import annotations

from flask import current_app

# Where links point when BASE_URL is unset: the development server of `make run`.
DEV_BASE_URL = "http://127.0.0.1:5000"


def base_url() -> str:
    """The configured address links are built on (never the request's Host)."""
    return (current_app.config.get("BASE_URL") or DEV_BASE_URL).rstrip("/")


def external_url(endpoint: str, **values) -> str:
    """An absolute link to an endpoint under BASE_URL, whatever host the current request names."""
    path = current_app.url_map.bind("localhost", script_name="/").build(endpoint, values)
    return base_url() + path

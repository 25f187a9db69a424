"""Jinja filters and globals: Chinese dates, labels and permissions."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, request, url_for
from flask_login import current_user
from markupsafe import Markup

from common.dates import cn_number, format_date, format_datetime, format_time, local_input
from common.html import clean_html
from common.links import external_url
from models.enums import MeetingKind, MeetingStatus, Role, UnitCategory, UnitStatus
from services import notify, permissions, places


def rich(html: str | None) -> Markup:
    """Stored minutes text, sanitised again on the way out (never marked safe unsanitised)."""
    return Markup(clean_html(html or ""))


def url_with(**changes) -> str:
    """The current URL with some query arguments replaced (for pagination)."""
    args = request.args.to_dict(flat=True)
    args.update({k: v for k, v in changes.items() if v is not None})
    return request.path + "?" + urlencode(args)


_URL_CACHE_SIZE = 20_000


def cached_url_for(endpoint: str, **values) -> str:
    """url_for for templates, remembering each path it built.

    A list page builds the same kinds of links for every row and the menu builds a dozen on
    every page; Flask's url_for takes about 7 microseconds a call, a dictionary lookup well
    under one. Only relative paths are cached, keyed by the mount point (SCRIPT_NAME), the
    endpoint and the arguments in their order (url_for keeps it in the query string); blueprint-relative endpoints, the underscore options
    (_external, _anchor, ...) and unhashable arguments go straight to url_for. The app has
    no URL defaults or value preprocessors that could make the same arguments build two
    different paths.
    """
    if len(values) == 1:  # the usual case: one id
        ((name, value),) = values.items()
        if name[:1] == "_" or endpoint[:1] == ".":
            return url_for(endpoint, **values)
        key: tuple = (request.script_root, endpoint, name, value)
    else:
        if endpoint[:1] == "." or any(k[:1] == "_" for k in values):
            return url_for(endpoint, **values)
        key = (request.script_root, endpoint, *values.items())
    try:
        return _url_cache[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable argument (a list of values)
        return url_for(endpoint, **values)
    url = url_for(endpoint, **values)
    if len(_url_cache) >= _URL_CACHE_SIZE:
        _url_cache.clear()
    _url_cache[key] = url
    return url


_url_cache: dict[tuple, str] = {}


def community_name(community_id: int | None, name: str | None) -> str:
    """A community's name as the viewer should read it: with its street beside it when the
    viewer sees several streets (two 青年路社区 are told apart), else as it is."""
    labels = g.get("_community_labels")
    if labels is None:
        labels = g._community_labels = places.community_labels(current_user)
    return labels.get(community_id, name or "") if community_id is not None else (name or "")


def unread_notices() -> int:
    """The bell's count for the signed-in user: one statement per page, at most."""
    if not current_user.is_authenticated:
        return 0
    if "_unread_notices" not in g:
        g._unread_notices = notify.unread_count(current_user.id)
    return g._unread_notices


def field_aria(field, help_text=None) -> dict[str, str]:
    """The ARIA attributes that tie a form field to its error and help text (WCAG 3.3.1, 1.3.1):
    aria-invalid when it has errors, aria-describedby naming the error first, then the help."""
    described = []
    attrs: dict[str, str] = {}
    if field.errors:
        attrs["aria-invalid"] = "true"
        described.append(f"{field.id}-error")
    if help_text:
        described.append(f"{field.id}-help")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return attrs


def register(app: Flask) -> None:
    app.jinja_env.filters["dt"] = format_datetime
    app.jinja_env.filters["d"] = format_date
    app.jinja_env.filters["time_only"] = format_time
    app.jinja_env.filters["local_input"] = local_input
    app.jinja_env.filters["cn_number"] = cn_number
    app.jinja_env.filters["rich"] = rich
    # Absolute links (feed addresses to copy) come from BASE_URL, never from the Host header.
    app.jinja_env.globals["external_url"] = external_url
    app.jinja_env.globals.update(
        perm=permissions,
        Role=Role,
        MeetingKind=MeetingKind,
        MeetingStatus=MeetingStatus,
        UnitCategory=UnitCategory,
        UnitStatus=UnitStatus,
        KINDS=places.KINDS,
        place_kind=places.kind_for,
        community_name=community_name,
        unread_notices=unread_notices,
        url_with=url_with,
        url_for=cached_url_for,
        field_aria=field_aria,
    )

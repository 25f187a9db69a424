"""File download responses with Chinese file names that survive every browser."""

from urllib.parse import quote

from flask import Response


def download_response(body: bytes, mimetype: str, filename: str, inline: bool = False) -> Response:
    """Wrap bytes as a download; the UTF-8 name goes in filename*, an ASCII one in filename."""
    # A full content type ("text/csv; charset=utf-8") is sent as given: passed as a mimetype,
    # Werkzeug would append a second charset to it.
    resp = Response(body, content_type=mimetype) if ";" in mimetype else Response(body, mimetype=mimetype)
    ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    disposition = "inline" if inline else "attachment"
    resp.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"download.{ext}\"; filename*=UTF-8''{quote(filename)}"
    )
    return resp

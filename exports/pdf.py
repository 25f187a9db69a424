"""HTML to PDF with WeasyPrint, fetching nothing but the app's own fonts and static files.

WeasyPrint's default fetcher reads any file:// URL (a `<link rel=attachment
href=file:///etc/passwd>` embeds that file in the PDF) and fetches any http(s) URL,
including ones on the local network. Every render here goes through `SafeURLFetcher`,
which serves files under static/ and the subset fonts' folder and refuses everything
else: other files, http/https/ftp, data: URIs, and redirects (it never opens a
connection at all). On top of that, attachments come only from the caller: the ones
the HTML links to are dropped before writing.

Renders share one FontConfiguration per process (the fonts are loaded once) and run one
at a time in a worker thread bounded by a timeout.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import mimetypes
import os
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pydyf
from weasyprint import CSS, HTML, Attachment
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from exports import fonts


class _FastZlib:
    """zlib as pydyf sees it, with Flate at level 4 instead of 9.

    pydyf compresses every PDF stream at level 9; on our minutes level 4 gives nearly the same
    size (+1 %) and saves about a seventh of the render time, which pays for the structure
    tree of the tagged PDFs (measured in bench/pdf.py: 257 -> 248 ms, 183 -> 185 KB).
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(zlib, name)

    @staticmethod
    def compressobj(level: int = -1, *args: Any, **kwargs: Any) -> Any:
        return zlib.compressobj(4, *args, **kwargs)


pydyf.zlib = _FastZlib()


# pydyf computes a stream's bytes (compressing it again) each time they are asked for. Writing
# a file with an identifier (every PDF/A) asks twice: once to write each object, once more to
# hash them all for the /ID, which was a tenth of the archival render. While a file is being
# written (its streams no longer change), each stream's bytes are made once.
_stream_data = pydyf.Stream.data.fget
_pdf_write = pydyf.PDF.write
_written: dict[int, bytes] | None = None


def _stream_data_once(stream: pydyf.Stream) -> bytes:
    if _written is None:
        return _stream_data(stream)
    key = id(stream)
    if key not in _written:
        _written[key] = _stream_data(stream)
    return _written[key]


def _write_once(pdf: pydyf.PDF, *args: Any, **kwargs: Any) -> Any:
    global _written
    _written = {}
    try:
        return _pdf_write(pdf, *args, **kwargs)
    finally:
        _written = None


pydyf.Stream.data = property(_stream_data_once)
pydyf.PDF.write = _write_once

ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = ROOT / "static"
BASE_CSS = STATIC_DIR / "css" / "pdf.css"

VARIANTS = (None, "pdf/a-3a")
METADATA_KEYS = frozenset(
    {"title", "authors", "description", "keywords", "created", "modified", "lang", "generator"}
)
DEFAULT_LANG = "zh-CN"


class PdfRenderError(RuntimeError):
    """The PDF could not be rendered (WeasyPrint failed or took longer than the timeout)."""


class RefusedURL(ValueError):
    """A URL the safe fetcher will not fetch."""


class _RenderTimeout(BaseException):
    """Raised inside an overrunning render thread to stop it (BaseException: not swallowed)."""


class SafeURLFetcher(URLFetcher):
    """Serve only regular files under the given folders; refuse every other URL.

    Only `file:` URLs (no host, or localhost) whose resolved path (symlinks followed)
    lies under one of `roots` are read. http, https, ftp, data and anything else are
    refused without opening a connection, so there is nothing to redirect. WeasyPrint
    treats a refusal as a failed resource: it logs it and leaves the image, stylesheet,
    font or attachment out. Refused URLs are kept in `refused` for the caller to see.
    """

    def __init__(self, roots: Iterable[Path] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", 1)
        super().__init__(allowed_protocols={"file"}, allow_redirects=False, **kwargs)
        if roots is None:
            roots = (STATIC_DIR, fonts.FONT_DIR)
        self.roots = tuple(Path(root).resolve() for root in roots)
        self.refused: list[str] = []

    def resolve(self, url: str) -> Path | None:
        """The local file an allowed URL points at, or None if the URL is not allowed."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme.lower() != "file" or parts.netloc.lower() not in ("", "localhost"):
            return None
        try:
            path = Path(url2pathname(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return None
        if not path.is_file() or not any(path.is_relative_to(root) for root in self.roots):
            return None
        return path

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        path = self.resolve(url)
        if path is None:
            self.refused.append(url)
            raise RefusedURL(f"refused to fetch {url[:200]!r}: only the app's own fonts and static files")
        mime_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if mime_type.startswith("text/") or mime_type == "image/svg+xml":
            mime_type += "; charset=utf-8"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime_type})


# --- per-process shared state -------------------------------------------------------------

_render_lock = threading.Lock()  # WeasyPrint/Pango state in the FontConfiguration is not shared safely
_shared: tuple[FontConfiguration, list[CSS]] | None = None


def _shared_state() -> tuple[FontConfiguration, list[CSS]]:
    """The process's FontConfiguration and compiled base stylesheets (built on first use)."""
    global _shared
    if _shared is None:
        fetcher = SafeURLFetcher()
        font_config = FontConfiguration()
        stylesheets = []
        face_css = fonts.font_face_css()
        if face_css:
            stylesheets.append(CSS(string=face_css, font_config=font_config, url_fetcher=fetcher))
        stylesheets.append(CSS(filename=str(BASE_CSS), font_config=font_config, url_fetcher=fetcher))
        _shared = (font_config, stylesheets)
    return _shared


def reset_shared_state() -> None:
    """Drop the shared FontConfiguration (after a fork, an aborted render, or new fonts)."""
    global _shared
    _shared = None


def _after_fork_in_child() -> None:
    global _render_lock
    _render_lock = threading.Lock()
    reset_shared_state()


def _release_at_exit() -> None:
    # Free Pango/fontconfig objects while their libraries are still loaded: left to
    # module teardown, the FontConfiguration's finalisers crash the interpreter on exit.
    reset_shared_state()
    gc.collect()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_release_at_exit)


# --- rendering ----------------------------------------------------------------------------


def _w3c_date(value: datetime | date | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _utc(value: datetime | date | str | None) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value))
        except ValueError:
            pass
    return datetime.now(UTC)


def _render(
    html: str,
    base_url: str | None,
    variant: str | None,
    attachments: Iterable[tuple[str, bytes, str]],
    metadata: Mapping[str, Any],
) -> bytes:
    font_config, stylesheets = _shared_state()
    fetcher = SafeURLFetcher()
    # Every PDF is tagged (structure tree in reading order, headings, tables with their header
    # cells, figures with their alternative text, language zh-CN): a screen reader reads it.
    options: dict[str, Any] = {"stylesheets": stylesheets, "pdf_tags": True}
    if variant:
        options["pdf_variant"] = variant
    document = HTML(string=html, base_url=base_url or STATIC_DIR.as_uri() + "/", url_fetcher=fetcher).render(
        font_config=font_config, **options
    )

    meta = document.metadata
    # Embed only what the caller passes: never what the HTML links to (defence in depth:
    # the fetcher refuses those URLs anyway).
    meta.attachments = []
    for page in document.pages:
        page.links[:] = [link for link in page.links if link[0] != "attachment"]
    meta.lang = metadata.get("lang") or DEFAULT_LANG
    for key in ("title", "description", "generator"):
        if metadata.get(key):
            setattr(meta, key, metadata[key])
    for key in ("authors", "keywords"):
        value = metadata.get(key)
        if value:
            setattr(meta, key, [value] if isinstance(value, str) else list(value))
    for key in ("created", "modified"):
        if metadata.get(key):
            setattr(meta, key, _w3c_date(metadata[key]))
    stamp = _utc(metadata.get("modified") or metadata.get("created"))
    embedded = [
        Attachment(
            string=data,
            name=filename,
            description=description,
            created=stamp.replace(tzinfo=None),  # WeasyPrint writes these as UTC ("Z")
            modified=stamp.replace(tzinfo=None),
            relationship="Data",
            url_fetcher=fetcher,
        )
        for filename, data, description in attachments
    ]
    if embedded:
        options["attachments"] = embedded
    return document.write_pdf(finisher=_dedupe_associated_files, **options)


def _dedupe_associated_files(document: Any, pdf: Any) -> None:
    """List each attachment once in the catalog's /AF (WeasyPrint 70's PDF/A-3 adds them twice)."""
    associated = pdf.catalog.get("AF")
    if associated:
        unique = list(dict.fromkeys(associated))
        associated.clear()
        associated.extend(unique)


def _interrupt(thread: threading.Thread) -> None:
    """Raise _RenderTimeout in a thread at its next Python instruction."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_RenderTimeout))


def render_pdf(
    html: str,
    *,
    base_url: str | None = None,
    variant: str | None = None,
    attachments: Iterable[tuple[str, bytes, str]] = (),
    metadata: Mapping[str, Any] | None = None,
    timeout: float = 20,
) -> bytes:
    """Render HTML to PDF bytes, fetching only the app's own fonts and static files.

    base_url: where relative URLs resolve (default: the static folder; anything outside
    the static and font folders is refused whatever the base).
    variant: None for a plain PDF, "pdf/a-3a" for the archive (PDF/A-3a, the accessible level:
    XMP identification pdfaid:part=3, conformance=A). Both are tagged PDFs.
    attachments: (filename, bytes, description) files to embed (for PDF/A-3 with
    AFRelationship /Data); nothing else is ever embedded.
    metadata: title, authors (list or str), description, keywords, generator,
    created, modified (datetime, date or W3C/ISO 8601 string), lang (default zh-CN);
    these override the HTML's <title>, <meta name=author> and the like.
    timeout: seconds before the render is abandoned with PdfRenderError.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unsupported PDF variant {variant!r} (expected one of {VARIANTS})")
    metadata = dict(metadata or {})
    unknown = set(metadata) - METADATA_KEYS
    if unknown:
        raise ValueError(f"unknown metadata keys: {', '.join(sorted(unknown))}")
    attachments = [(str(name), bytes(data), str(description)) for name, data, description in attachments]

    deadline = time.monotonic() + timeout
    lock = _render_lock
    if not lock.acquire(timeout=max(timeout, 0)):
        raise PdfRenderError(f"another PDF render is still running after {timeout:g} s")
    try:
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["pdf"] = _render(html, base_url, variant, attachments, metadata)
            except _RenderTimeout:
                outcome["error"] = None
            except Exception as exc:  # handed to the caller's thread
                outcome["error"] = exc

        # A render allocates a few hundred thousand objects; in an app process holding as
        # many long-lived ones, the full collections this triggers rescan them all and cost
        # about a third of the render (bench/pdf.py: ~350 -> ~230 ms warm). Reference
        # counting still frees the render's garbage; the collector resumes right after.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            worker = threading.Thread(target=work, name="pdf-render", daemon=True)
            worker.start()
            worker.join(max(deadline - time.monotonic(), 0))
            if worker.is_alive():
                _interrupt(worker)
                worker.join(2)
                # The interrupted render may have left the shared fonts half set up.
                reset_shared_state()
                raise PdfRenderError(f"PDF rendering took longer than {timeout:g} s and was stopped")
        finally:
            if gc_was_enabled:
                gc.enable()
    finally:
        lock.release()
    if "pdf" in outcome:
        return outcome["pdf"]
    error = outcome.get("error")
    raise PdfRenderError(f"PDF rendering failed: {error}") from error

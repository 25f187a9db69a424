"""PDF rendering: Chinese text and fonts, page numbers, watermark, PDF/A-3a (tagged), and a fetcher
that loads nothing but the app's own fonts and static files."""

from __future__ import annotations

import io
import re
import subprocess
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pikepdf
import pytest
from flask import render_template

from exports import fonts
from exports.pdf import STATIC_DIR, PdfRenderError, SafeURLFetcher, render_pdf

ATTACHMENTS = [
    ("meeting.ics", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "会议日历（iCalendar）"),
    ("minutes.json", '{"archive_no": "东大街一社区联席〔2026〕3号"}'.encode(), "会议纪要结构化数据（JSON）"),
]
METADATA = {
    "title": "东大街一社区联席〔2026〕3号 会议纪要",
    "authors": ["青年路社区党委"],
    "created": "2026-12-01T09:30:00+08:00",
    "modified": "2026-12-01T09:30:00+08:00",
}
PASSWD_MARKERS = (b"root:x:0:0", b"/bin/bash", b"nologin")

_cache: dict[str, bytes] = {}


@pytest.fixture(scope="module", autouse=True)
def subset_fonts():
    """The subset faces exist (scripts/setup.sh builds them; build here if it has not run)."""
    fonts.build_fonts()
    assert fonts.fonts_ready()


@pytest.fixture
def specimen(app):
    """Render the 3-page minutes specimen once per kind: specimen('draft'|'final'|'archive')."""

    def _render(kind: str) -> bytes:
        if kind not in _cache:
            with app.test_request_context():
                html = render_template("pdf/specimen.html", watermark="草稿" if kind == "draft" else None)
            if kind == "archive":
                _cache[kind] = render_pdf(
                    html, variant="pdf/a-3a", attachments=ATTACHMENTS, metadata=METADATA
                )
            else:
                _cache[kind] = render_pdf(html, metadata=METADATA)
        return _cache[kind]

    return _render


def _tool(tmp_path: Path, pdf: bytes, *command: str) -> subprocess.CompletedProcess:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run([*command, str(path)], capture_output=True, text=True, timeout=30)


def pdftotext(tmp_path: Path, pdf: bytes) -> str:
    result = _tool(tmp_path, pdf, "pdftotext", "-enc", "UTF-8", "-layout")
    assert result.returncode == 0, result.stderr
    return Path(tmp_path / "doc.txt").read_text(encoding="utf-8")


def squeezed(text: str) -> str:
    """Text without whitespace (pdftotext spaces CJK text by glyph positions)."""
    return re.sub(r"\s+", "", text)


def pdffonts(tmp_path: Path, pdf: bytes) -> list[dict[str, str]]:
    result = _tool(tmp_path, pdf, "pdffonts")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    rows = []
    for line in lines[2:]:
        # name type... encoding emb sub uni object-id gen: the last six columns are fixed.
        parts = line.split()
        rows.append(
            {
                "name": parts[0],
                "emb": parts[-5],
                "sub": parts[-4],
                "uni": parts[-3],
                "type": " ".join(parts[1:-6]),
            }
        )
    return rows


def all_decoded_bytes(pdf: bytes) -> bytes:
    """Every stream of the PDF, decoded, plus the raw file."""
    chunks = [pdf]
    with open_pdf(pdf) as doc:
        for obj in doc.objects:
            if isinstance(obj, pikepdf.Stream):
                try:
                    chunks.append(obj.read_bytes())
                except (pikepdf.PdfError, zlib.error):
                    chunks.append(obj.read_raw_bytes())
    return b"\n".join(chunks)


def open_pdf(pdf: bytes) -> pikepdf.Pdf:
    return pikepdf.open(io.BytesIO(pdf))


# --- the specimen: text, page numbers, fonts, structure ------------------------------------


def test_text_and_page_numbers(specimen, tmp_path):
    pdf = specimen("final")
    text = squeezed(pdftotext(tmp_path, pdf))
    for expected in (
        "东大街一社区联席〔2026〕3号",
        "会议纪要",
        "东大街第一小学",
        "市第三人民医院",
        "和平里派出所",
        "资源共享、优势互补",
        "《工作方案》",
        "（十二）审议下季度联席会议议题",
    ):
        assert expected in text, expected
    with open_pdf(pdf) as doc:
        assert len(doc.pages) == 3
    for page in (1, 2, 3):
        assert f"第{page}页共3页" in text
    assert "第4页" not in text
    assert "草稿" not in text


def test_fonts_are_the_embedded_sc_subset(specimen, tmp_path):
    rows = pdffonts(tmp_path, specimen("final"))
    names = {re.sub(r"^[A-Z]{6}\+", "", row["name"]) for row in rows}
    assert names == {"GongjianSans", "GongjianSans-Bold"}, rows
    for row in rows:
        assert (row["emb"], row["sub"], row["uni"]) == ("yes", "yes", "yes"), row
        assert "jp" not in row["name"].lower()


def test_subset_face_was_taken_from_the_sc_face_of_the_collection():
    """In the .ttc, SC and JP map 直, 骨, 刃 to different glyphs: the subset has the SC ones.

    The subset's glyphs are renumbered (CID = glyph id), so glyphs are compared by outline.
    """
    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.ttLib import TTCollection, TTFont

    def outline(font, char):
        pen = RecordingPen()
        font.getGlyphSet()[font.getBestCmap()[ord(char)]].draw(pen)
        return pen.value

    for face in fonts.FACES:
        collection = TTCollection(str(fonts.NOTO_DIR / face.source), lazy=True)
        by_name = {font["name"].getDebugName(6): font for font in collection.fonts}
        sc = by_name[face.source_name]
        jp = by_name[face.source_name.replace("sc-", "jp-")]
        subset = TTFont(str(face.path), lazy=True)
        cmap = subset.getBestCmap()
        assert subset["name"].getDebugName(1) == fonts.FAMILY
        for char in "直骨刃":
            assert outline(subset, char) == outline(sc, char) != outline(jp, char), char
        for char in "〔〕《》“”、。东大街联席号ABC123":
            assert ord(char) in cmap, char


def test_qpdf_check_is_clean(specimen, tmp_path):
    for kind in ("final", "archive"):
        result = _tool(tmp_path, specimen(kind), "qpdf", "--check")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "No syntax or stream encoding errors" in result.stdout


def test_draft_carries_the_watermark_on_every_page(specimen, tmp_path):
    pdf = specimen("draft")
    with open_pdf(pdf) as doc:
        pages = len(doc.pages)
    path = tmp_path / "draft.pdf"
    path.write_bytes(pdf)
    for page in range(1, pages + 1):
        result = subprocess.run(
            ["pdftotext", "-raw", "-f", str(page), "-l", str(page), "-enc", "UTF-8", str(path), "-"],
            capture_output=True,
            timeout=30,
        )
        assert "草稿" in squeezed(result.stdout.decode()), page
    assert "草稿" not in squeezed(pdftotext(tmp_path, specimen("final")))
    assert "草稿" not in squeezed(pdftotext(tmp_path, specimen("archive")))


def test_archive_is_pdfa_3a_with_metadata_and_attachments(specimen):
    with open_pdf(specimen("archive")) as doc:
        meta = doc.open_metadata()
        assert meta["pdfaid:part"] == "3"
        assert meta["pdfaid:conformance"] == "A"
        assert meta.pdfa_status == "3A"
        assert meta["dc:title"] == METADATA["title"]
        assert meta["dc:creator"] == ["青年路社区党委"]
        assert meta["xmp:CreateDate"].startswith("2026-12-01T09:30:00")
        assert str(doc.docinfo["/Title"]) == METADATA["title"]
        assert str(doc.Root.Lang) == "zh-CN"
        assert len(doc.Root.OutputIntents) == 1
        assert {name: spec.get_file().read_bytes() for name, spec in doc.attachments.items()} == {
            name: data for name, data, _ in ATTACHMENTS
        }
        assert {spec.description for spec in doc.attachments.values()} == {d for *_, d in ATTACHMENTS}
        associated = list(doc.Root.AF)
        assert sorted(str(spec.UF) for spec in associated) == sorted(name for name, *_ in ATTACHMENTS)
        for spec in associated:
            assert spec.AFRelationship == pikepdf.Name.Data


def test_plain_pdf_has_no_pdfa_claim_and_language_zh_cn(specimen):
    with open_pdf(specimen("final")) as doc:
        assert doc.open_metadata().pdfa_status == ""
        assert str(doc.Root.Lang) == "zh-CN"
        assert not doc.attachments


# --- hostile input: nothing fetched, nothing embedded --------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        type(self).requests.append(self.path)
        body = b"body { color: red } " if self.path.endswith(".css") else b"GIF89a"
        self.send_response(200)
        self.send_header("Content-Type", "text/css" if self.path.endswith(".css") else "image/gif")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def lan_server():
    """A local HTTP server standing in for the LAN; records every request it gets."""
    _Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    server.shutdown()
    server.server_close()


def hostile_html(lan: str) -> str:
    return f"""<!doctype html><html lang="zh-CN"><head>
<meta charset="utf-8"><title>恶意纪要</title>
<link rel="stylesheet" href="{lan}/link.css">
<link rel="stylesheet" href="file:///etc/passwd">
<link rel="attachment" href="file:///etc/passwd">
<link rel="attachment" href="{lan}/attached.txt">
<link rel="attachment" href="data:text/plain;base64,cm9vdDp4OjA6MDpyb290Oi9yb290Oi9iaW4vYmFzaAo=">
<link rel="attachment" href="../../../../../../etc/passwd">
<style>
@import url({lan}/import.css);
@import url(file:///etc/passwd);
@font-face {{ font-family: Evil; src: url({lan}/evil.ttf); }}
body {{ background: url({lan}/background.gif); }}
p.x {{ font-family: Evil; background-image: url(file:///etc/passwd); }}
</style></head><body>
<h1>恶意输入测试：会议纪要</h1>
<p class="x">正文内容</p>
<p><a href="file:///etc/passwd">本地文件链接</a> <a rel="attachment" href="file:///etc/passwd">附件链接</a>
<a rel="attachment" download="x.txt" href="{lan}/anchor.txt">局域网附件</a></p>
<img src="file:///etc/passwd" alt="">
<img src="/etc/passwd" alt="">
<img src="../../../../../../etc/passwd" alt="">
<img src="file://localhost/etc/passwd" alt="">
<img src="file://otherhost/etc/passwd" alt="">
<img src="{lan}/image.gif" alt="">
<img src="http://[::1]:1/ipv6.gif" alt="">
<img src="ftp://127.0.0.1/x.gif" alt="">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<object data="file:///etc/passwd"></object>
<embed src="{lan}/embed.svg">
<svg width="10" height="10"><image href="file:///etc/passwd" width="10" height="10"/></svg>
</body></html>"""


@pytest.mark.parametrize("variant", [None, "pdf/a-3a"])
def test_hostile_input_fetches_and_embeds_nothing(lan_server, tmp_path, variant):
    lan, requests = lan_server
    passed = [ATTACHMENTS[1]] if variant else []
    pdf = render_pdf(hostile_html(lan), variant=variant, attachments=passed)

    assert requests == [], "the renderer made requests to the local network"
    with open_pdf(pdf) as doc:
        assert {name for name in doc.attachments} == {name for name, *_ in passed}
        for page in doc.pages:
            for annot in page.get("/Annots", []):
                assert annot.get("/Subtype") != pikepdf.Name.FileAttachment
            resources = page.get("/Resources", {})
            assert not resources.get("/XObject") or all(
                xobj.get("/Subtype") != pikepdf.Name.Image for xobj in resources.XObject.values()
            ), "an image was embedded"
    everything = all_decoded_bytes(pdf)
    for marker in PASSWD_MARKERS:
        assert marker not in everything
    text = squeezed(pdftotext(tmp_path, pdf))
    assert "恶意输入测试" in text
    assert "root:" not in text


def test_fetcher_serves_only_app_fonts_and_static_files(tmp_path):
    fetcher = SafeURLFetcher()
    css = fetcher.fetch((STATIC_DIR / "css" / "pdf.css").as_uri())
    assert css.content_type == "text/css" and b"@page" in css.read()
    font = fetcher.fetch(fonts.FACES[0].path.as_uri())
    assert font.read(4) == b"OTTO"

    outside = tmp_path / "secret.txt"
    outside.write_text("secret")
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "ok.css").write_text("p {}")
    (tmp_path / "static" / "link.css").symlink_to(outside)
    confined = SafeURLFetcher(roots=[tmp_path / "static"])
    assert confined.fetch((tmp_path / "static" / "ok.css").as_uri()).read() == b"p {}"
    refused = [
        outside.as_uri(),
        (tmp_path / "static" / "link.css").as_uri(),  # symlink out of the folder
        (tmp_path / "static").as_uri() + "/../secret.txt",
        (tmp_path / "static").as_uri() + "/%2e%2e/secret.txt",
        (tmp_path / "static").as_uri(),  # a directory
        "file:///etc/passwd",
        "file://example.org/etc/passwd",
        "http://127.0.0.1:9/x.css",
        "https://example.org/x.css",
        "ftp://127.0.0.1/x",
        "data:text/css,p{}",
        "javascript:alert(1)",
    ]
    for url in refused:
        with pytest.raises(ValueError):
            confined.fetch(url)
    assert confined.refused == refused


# --- limits and start-up checks -----------------------------------------------------------


def test_render_time_is_bounded_and_the_renderer_recovers(app):
    html = "<html lang='zh-CN'><body>" + "<p>共建共驻，共同发展。</p>" * 20000 + "</body></html>"
    with pytest.raises(PdfRenderError, match="longer than"):
        render_pdf(html, timeout=0.2)
    assert render_pdf("<p>恢复正常</p>", timeout=20).startswith(b"%PDF-")


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        render_pdf("<p>x</p>", variant="pdf/a-1b")
    with pytest.raises(ValueError):
        render_pdf("<p>x</p>", metadata={"subject": "x"})


def test_missing_harfbuzz_subset_fails_app_start(monkeypatch, database_url):
    from app import create_app

    fonts.check_harfbuzz_subset()  # present on this machine
    monkeypatch.setattr(fonts, "_HARFBUZZ_SUBSET_NAMES", ("libharfbuzz-subset-missing.so.0",))
    with pytest.raises(RuntimeError, match="libharfbuzz-subset"):
        fonts.check_harfbuzz_subset()
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "t"}
    with pytest.raises(RuntimeError, match="libharfbuzz-subset"):
        create_app(config)
    assert create_app({**config, "PDF_CHECK_FONTS": False}) is not None

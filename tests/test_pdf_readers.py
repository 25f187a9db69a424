"""Every PDF the app writes draws and reads in MuPDF, Ghostscript and Poppler alike.

The first font build kept Noto's CIDs in the subset's charset while its glyphs were
renumbered; WeasyPrint writes glyph ids as CIDs, so MuPDF drew the Chinese blank
("cannot render glyph" / FT_Load_Glyph warnings) and Ghostscript drew .notdef boxes,
while Poppler and Chromium looked fine. Each kind of PDF is rendered once per module and
opened with every reader at a low resolution (tests/pdfreaders.py).
"""

from __future__ import annotations

import pytest

from exports import fonts
from exports.pdfcheck import font_problems
from tests.pdfreaders import Readings, read_everywhere, squeeze
from tests.test_minutes import _approve, _draft, _start
from tests.test_points import YEAR, build_year

KINDS = ("approved-minutes", "draft-minutes", "annual-report")
EXPECTED = {
    "approved-minutes": (
        "第四季度共驻共建联席会议",
        "会议纪要",
        "东大街第一小学",
        "通报共建项目",
        "开放学校操场",
    ),
    "draft-minutes": ("第四季度共驻共建联席会议", "会议纪要", "研究暑期托管", "各单位同意联合开展暑期托管"),
    "annual-report": ("年度共建工作报告", "青年路社区", "和平里社区", "东大街第一小学"),
}

_pdfs: dict[str, bytes] = {}
_readings: dict[str, Readings] = {}


@pytest.fixture(scope="module", autouse=True)
def subset_fonts():
    """The subset faces of the current build exist (setup builds them; build if it has not)."""
    fonts.build_fonts()
    assert fonts.fonts_ready()


@pytest.fixture
def pdf_of(app, client, world, login_as, held_meeting, tmp_path_factory):
    """pdf_of(kind) -> (bytes, readings): each kind rendered through the app and read once."""

    def _get(kind: str) -> tuple[bytes, Readings]:
        if kind not in _pdfs:
            _pdfs[kind] = _render(kind, app, client, world, login_as, held_meeting)
            folder = tmp_path_factory.mktemp(kind)
            _readings[kind] = read_everywhere(_pdfs[kind], folder, kind)
        return _pdfs[kind], _readings[kind]

    return _get


def _render(kind, app, client, world, login_as, held_meeting) -> bytes:
    if kind == "annual-report":
        with app.app_context():
            build_year(world)
        login_as("archivist")
        resp = client.get(f"/stats/report.pdf?year={YEAR}")
    else:
        mid = held_meeting()
        login_as("secretary1")
        if kind == "approved-minutes":
            _approve(app, client, world, mid)
        else:
            _start(client, mid)
            _draft(app, client, world, mid)
        resp = client.get(f"/meetings/{mid}/minutes.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf", resp.status
    return resp.data


@pytest.mark.parametrize("kind", KINDS)
def test_embedded_fonts_map_every_cid_to_its_glyph(pdf_of, kind):
    """PDF/A 6.2.11.4-2 and 6.2.11.5 as veraPDF checks them, and the glyph is the character's."""
    pdf, _ = pdf_of(kind)
    assert font_problems(pdf) == []


@pytest.mark.parametrize("kind", KINDS)
def test_mupdf_and_ghostscript_draw_without_warnings(pdf_of, kind):
    _, readings = pdf_of(kind)
    assert readings.mutool_messages == [] and readings.gs_messages == [], readings.problems()


@pytest.mark.parametrize("kind", KINDS)
def test_every_renderer_draws_the_chinese(pdf_of, kind):
    """MuPDF and Ghostscript draw each Chinese word of page 1 as Poppler does (not blank, no boxes)."""
    _, readings = pdf_of(kind)
    assert len(readings.chinese_words) >= 10
    assert readings.misdrawn == {"mupdf": [], "gs": []}, readings.problems()


@pytest.mark.parametrize("kind", KINDS)
def test_ghostscript_and_pdftotext_give_the_chinese_back(pdf_of, kind):
    _, readings = pdf_of(kind)
    gs_text, poppler_text = squeeze(readings.gs_text), squeeze(readings.poppler_text)
    for expected in EXPECTED[kind]:
        assert expected in gs_text, (expected, readings.gs_text[:500])
        assert expected in poppler_text, (expected, readings.poppler_text[:500])


def test_the_checks_catch_the_first_font_build(app, tmp_path, monkeypatch):
    """A PDF set in a face subset the old way (CIDs kept, glyphs renumbered) fails every check
    above; the same face renumbered by the current build passes them."""
    from tests.pdffixtures import SAMPLE_TEXT, build_faces, use_font_dir

    html = f"<h1>会议纪要</h1><p>{SAMPLE_TEXT}</p><p><strong>{SAMPLE_TEXT}</strong></p>"
    results = {}
    for faulty in (True, False):
        folder = build_faces(tmp_path / ("faulty" if faulty else "fixed"), faulty=faulty)
        with use_font_dir(monkeypatch, folder):
            from exports.pdf import render_pdf

            pdf = render_pdf(html, variant="pdf/a-3a")
        results[faulty] = (font_problems(pdf), read_everywhere(pdf, folder / "read"))
    problems, readings = results[True]
    assert problems and all("6.2.11.4-2" in p for p in problems), problems
    assert any("FT_Load_Glyph" in m for m in readings.mutool_messages)
    assert len(readings.misdrawn["mupdf"]) > len(readings.chinese_words) // 2
    assert len(readings.misdrawn["gs"]) > len(readings.chinese_words) // 2
    assert "会议纪要" in squeeze(readings.gs_text)  # text extraction alone never showed it
    problems, readings = results[False]
    assert problems == [] and readings.problems() == []


def test_a_machine_with_the_faulty_build_rebuilds_it(tmp_path, monkeypatch):
    """The build number is in the file names: old faces count as missing and are removed."""
    monkeypatch.setattr(fonts, "FONT_DIR", tmp_path)
    old = [tmp_path / f"{face.postscript_name}.otf" for face in fonts.FACES]
    for path in old:
        path.write_bytes(b"OTTO first build")
    assert not fonts.fonts_ready()
    face = fonts.FACES[0]
    monkeypatch.setattr(fonts, "FACES", (face,))  # one face: built in this process
    monkeypatch.setattr(fonts, "build_face", lambda face, chars: face.path.write_bytes(b"OTTO") and face.path)
    monkeypatch.setattr(fonts, "gbk_characters", lambda: [0x4E1C])
    assert fonts.build_fonts() == [face.path]
    assert sorted(p.name for p in tmp_path.iterdir()) == [face.filename]
    assert fonts.fonts_ready()


def test_built_faces_give_every_glyph_its_own_id_as_cid():
    """The faces the app embeds: CID-keyed CFF whose charset maps CID n to glyph n."""
    from fontTools.ttLib import TTFont

    for face in fonts.FACES:
        top = TTFont(str(face.path), lazy=True)["CFF "].cff.topDictIndex[0]
        assert top.ROS == ("Adobe", "Identity", 0)
        assert top.charset[1:] == [f"cid{gid:05d}" for gid in range(1, len(top.charset))]
        assert len(top.charset) > 21000  # all of GBK


def test_latin_letter_pairs_come_out_of_ghostscript_as_typed(app, tmp_path):
    """No ff/fi/fl ligatures: Ghostscript 10 extracts a ligature glyph garbled, and an archivist
    copies digests (hex, full of "ff") out of the PDF."""
    from exports.pdf import render_pdf

    digest = "ff21fe0fa9c0ffee1f"
    pdf = render_pdf(f"<p>SHA-256 {digest} coffee office flow 东大街联席</p>")
    readings = read_everywhere(pdf, tmp_path)
    for text in (readings.gs_text, readings.poppler_text):
        assert digest in text and "coffee office flow" in text, text

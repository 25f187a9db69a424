"""Tagged, accessible PDFs (issue 14, point 4): the archival minutes are PDF/A-3a, and they, the
annual report and the sign-in poster carry a structure tree in reading order — headings,
tables with header cells, figures with their alternative text — marked content, and the
language zh-CN; the text extracts in reading order."""

from __future__ import annotations

import io
import re
import subprocess

import pikepdf

from models import Minutes, db
from tests.test_filing import _approved
from tests.test_points import YEAR, build_year
from tests.test_signin import _started


def structure(pdf: bytes) -> tuple[dict, list[tuple[str, str | None]]]:
    """(catalog facts, the structure elements in document order as (type, alternative text))."""
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        root = doc.Root
        facts = {
            "lang": str(root.get("/Lang", "")),
            "marked": bool(root.get("/MarkInfo", {}).get("/Marked", False)),
            "display_title": bool(root.get("/ViewerPreferences", {}).get("/DisplayDocTitle", False)),
            "pdfa": doc.open_metadata().pdfa_status,
        }
        elements: list[tuple[str, str | None]] = []

        def walk(node) -> None:
            if isinstance(node, pikepdf.Array):
                for kid in node:
                    walk(kid)
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                alt = node.get("/Alt")
                elements.append((str(node.S)[1:], str(alt) if alt is not None else None))
                if "/K" in node:
                    walk(node.K)

        assert "/StructTreeRoot" in root, "untagged PDF"
        walk(root.StructTreeRoot.K)
    return facts, elements


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "tagged.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


def in_order(text: str, phrases: list[str]) -> bool:
    positions = [text.find(p) for p in phrases]
    return all(p >= 0 for p in positions) and positions == sorted(positions)


def test_archival_minutes_are_pdfa_3a_with_a_structure_tree(app, world, held_meeting, tmp_path):
    (mid,) = _approved(app, world, held_meeting)
    with app.app_context():
        pdf = db.session.get(Minutes, mid).approved.pdf
    facts, elements = structure(pdf)
    assert facts == {"lang": "zh-CN", "marked": True, "display_title": True, "pdfa": "3A"}
    types = [t for t, _ in elements]
    assert types[0] == "Document" and types.count("H1") == 1
    assert types.index("H1") < types.index("H2") and "Table" in types
    assert types.count("TH") >= 3 and "THead" in types and "TD" in types
    assert in_order(text_of(pdf, tmp_path), ["会议纪要", "出席情况", "会议议题及讨论情况", "议定事项"])


def test_the_annual_report_is_tagged_with_figures_described(app, world, client, login_as, tmp_path):
    with app.app_context():
        build_year(world)
    login_as("archivist")
    pdf = client.get(f"/stats/report.pdf?year={YEAR}").data
    facts, elements = structure(pdf)
    assert facts["lang"] == "zh-CN" and facts["marked"] and facts["pdfa"] == ""
    figures = [alt for t, alt in elements if t == "Figure"]
    assert len(figures) == 5 and all(figures), figures  # the five charts, each with its alternative text
    assert "召开联席会议" in figures[0]
    assert "TH" in [t for t, _ in elements]
    assert in_order(text_of(pdf, tmp_path), [f"{YEAR}年度共建工作报告", "各社区议定事项落实情况"])


def test_the_signin_poster_is_tagged_and_its_code_described(app, client, world, make_meeting, login_as):
    mid = _started(make_meeting, minutes_ago=-20)
    login_as("secretary1")
    pdf = client.get(f"/meetings/{mid}/signin/poster.pdf").data
    facts, elements = structure(pdf)
    assert facts["lang"] == "zh-CN" and facts["marked"]
    (qr,) = [alt for t, alt in elements if t == "Figure"]
    assert qr.startswith("签到二维码") and "/s/" in qr
    types = [t for t, _ in elements]
    assert "H1" in types and "L" in types and types.count("LI") == 3

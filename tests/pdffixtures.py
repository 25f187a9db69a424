"""Small subset faces for tests: built the faulty first way, or the way the app builds them now.

`build_faces(folder, faulty=True)` writes both faces, under the file names the app looks
for, subset to SAMPLE_TEXT (plus ASCII) from the installed Noto Sans CJK SC by
exports.fonts.build_face; faulty faces skip the renumbering (their charset keeps Noto's
CIDs while the glyphs are renumbered: the first build's layout). Characters outside
the sample fall back to the installed Noto through fontconfig. `use_font_dir` makes the PDF
renderer use such a folder for the length of a `with` block.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from exports import fonts

# The words the test minutes and the app's PDF templates use most.
SAMPLE_TEXT = (
    "东大街街道青年路和平里社区第四季度共驻共建联席会议纪要第一小学市第三人民医院派出所"
    "时间地点召集单位会议类型记录人签发人出席情况序号备注请假缺席无故委派代表应到实到"
    "议题及讨论通报共建项目研究暑期托管议定事项牵头协同完成时限资源共享优势互补共同发展"
    "开放学校操场组织志愿者各同意联合开展刘芳定期例会专题片区年月日页共版草稿联席〔〕号"
    "，。、：；（）《》“”—…·"
)
_built: dict[tuple[str, bool], Path] = {}


def build_faces(folder: Path, faulty: bool) -> Path:
    """Write both small faces into folder (each built once per test run, then copied)."""
    folder.mkdir(parents=True, exist_ok=True)
    characters = sorted(set(range(0x20, 0x7F)) | {ord(c) for c in SAMPLE_TEXT})
    for face in fonts.FACES:
        key = (face.postscript_name, faulty)
        if key not in _built:
            store = folder.parent / f".{'faulty' if faulty else 'fixed'}-faces"
            _built[key] = fonts.build_face(face, characters, folder=store, renumber=not faulty)
        (folder / face.filename).write_bytes(_built[key].read_bytes())
    return folder


@contextlib.contextmanager
def use_font_dir(monkeypatch, folder: Path):
    """Render PDFs with the faces in folder (and go back to the app's own afterwards)."""
    from exports import pdf

    monkeypatch.setattr(fonts, "FONT_DIR", folder)
    pdf.reset_shared_state()
    try:
        yield folder
    finally:
        monkeypatch.undo()
        pdf.reset_shared_state()

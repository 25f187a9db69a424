"""OFD (GB/T 33190-2016) renditions of archival PDFs: the same pages, text as text.

The PDF is read back with pdfminer.six (characters with their origin, size, font and colour;
ruled lines and filled rectangles) and written as an OFD package: OFD.xml with the document
info (title, author, dates, and the archival description as custom data), Document.xml,
PublicRes.xml with the fonts — the app's own Noto-based faces, subset with fontTools to the
characters used and embedded — and one Content.xml per page with a TextObject per run of text
and a PathObject per rule. Coordinates are millimetres from the top left, as OFD has them.
The same PDF and info give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from exports import fonts

NS = "http://www.ofdspec.org/2016"
MM_PER_PT = 25.4 / 72
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def _mm(value: float) -> str:
    text = f"{value * MM_PER_PT:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _color(value) -> str:
    """pdfminer's colour (grey, RGB or CMYK, 0–1) as OFD's "r g b" (0–255)."""
    if value is None:
        return "0 0 0"
    if isinstance(value, int | float):
        value = (value,)
    value = tuple(value)
    if len(value) == 1:
        rgb = (value[0],) * 3
    elif len(value) == 4:
        c, m, y, k = value
        rgb = ((1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k))
    else:
        rgb = value[:3]
    return " ".join(str(round(max(0.0, min(1.0, float(v))) * 255)) for v in rgb)


@dataclass
class Run:
    font: str  # "Regular" or "Bold"
    size: float  # pt
    color: str
    x: float  # first origin, pt (PDF space)
    y: float  # baseline, pt
    text: list[str] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)


@dataclass
class Rule:
    points: list[tuple[float, float]]
    closed: bool
    stroke: str | None
    fill: str | None
    width: float


@dataclass
class Page:
    width: float
    height: float
    runs: list[Run]
    rules: list[Rule]


def read_pdf(pdf: bytes) -> list[Page]:
    """The PDF's pages as runs of text and rules (pdfminer.six, no layout analysis)."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LTChar, LTCurve
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    manager = PDFResourceManager()
    device = PDFPageAggregator(manager, laparams=None)
    interpreter = PDFPageInterpreter(manager, device)
    pages = []
    for source in PDFPage.get_pages(io.BytesIO(pdf)):
        interpreter.process_page(source)
        layout = device.get_result()
        runs: list[Run] = []
        rules: list[Rule] = []
        for obj in layout:
            if isinstance(obj, LTChar):
                text = obj.get_text()
                if not text.strip():
                    continue
                font = "Bold" if "Bold" in obj.fontname else "Regular"
                size = round(obj.size, 2)
                color = _color(getattr(obj.graphicstate, "ncolor", None))
                x, y = obj.matrix[4], obj.matrix[5]
                last = runs[-1] if runs else None
                if (
                    last is not None
                    and (last.font, last.size, last.color) == (font, size, color)
                    and abs(last.y - y) < 0.01
                    and x > last.xs[-1]
                ):
                    last.text.append(text)
                    last.xs.append(x)
                else:
                    runs.append(Run(font, size, color, x, y, [text], [x]))
            elif isinstance(obj, LTCurve):  # LTLine and LTRect are curves too
                rules.append(
                    Rule(
                        points=[(float(px), float(py)) for px, py in obj.pts],
                        closed=len(obj.pts) > 2,
                        stroke=_color(obj.stroking_color) if obj.stroke else None,
                        fill=_color(obj.non_stroking_color) if obj.fill else None,
                        width=float(obj.linewidth or 0.5),
                    )
                )
        pages.append(Page(float(layout.width), float(layout.height), runs, rules))
    return pages


def _subset_font(face: str, text: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path = next(f.path for f in fonts.FACES if f.style_name == face)
    # No timestamp of today in the subset: the same PDF gives the same OFD bytes.
    font = TTFont(path, lazy=True, recalcTimestamp=False)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def _page_xml(page: Page, ids, font_ids: dict[str, int]) -> str:
    height = page.height
    box = f"0 0 {_mm(page.width)} {_mm(height)}"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Page xmlns:ofd="{NS}"><ofd:Content>']
    parts.append(f'<ofd:Layer ID="{next(ids)}">')
    for rule in page.rules:
        points = [(_mm(x), _mm(height - y)) for x, y in rule.points]
        data = f"M {points[0][0]} {points[0][1]} " + " ".join(f"L {x} {y}" for x, y in points[1:])
        if rule.closed:
            data += " C"
        attrs = f' Stroke="{"true" if rule.stroke else "false"}" Fill="{"true" if rule.fill else "false"}"'
        parts.append(
            f'<ofd:PathObject ID="{next(ids)}" Boundary="{box}" LineWidth="{_mm(rule.width)}"{attrs}>'
            + (f'<ofd:FillColor Value="{rule.fill}"/>' if rule.fill else "")
            + (f'<ofd:StrokeColor Value="{rule.stroke}"/>' if rule.stroke else "")
            + f"<ofd:AbbreviatedData>{data}</ofd:AbbreviatedData></ofd:PathObject>"
        )
    for run in page.runs:
        deltas = " ".join(_mm(b - a) for a, b in zip(run.xs, run.xs[1:], strict=False))
        delta = f' DeltaX="{deltas}"' if deltas else ""
        parts.append(
            f'<ofd:TextObject ID="{next(ids)}" Boundary="{box}" Font="{font_ids[run.font]}" Size="{_mm(run.size)}"'
            + (' Weight="700"' if run.font == "Bold" else "")
            + f'><ofd:FillColor Value="{run.color}"/>'
            + f'<ofd:TextCode X="{_mm(run.x)}" Y="{_mm(height - run.y)}"{delta}>{escape("".join(run.text))}</ofd:TextCode>'
            + "</ofd:TextObject>"
        )
    parts.append("</ofd:Layer></ofd:Content></ofd:Page>")
    return "".join(parts)


def _counter(start: int = 1):
    n = start
    while True:
        yield n
        n += 1


def pdf_to_ofd(pdf: bytes, info: dict[str, str], custom: dict[str, str] | None = None) -> bytes:
    """An OFD package with the PDF's pages. `info`: title, author, subject, creation_date
    (YYYY-MM-DD), creator; `custom`: name → value (the archival description)."""
    pages = read_pdf(pdf)
    used = {"Regular": set(), "Bold": set()}
    for page in pages:
        for run in page.runs:
            used[run.font].update(run.text)
    ids = _counter(1)
    font_ids = {face: next(ids) for face in ("Regular", "Bold")}
    files: list[tuple[str, bytes]] = []
    font_xml = []
    for face, fid in font_ids.items():
        name = f"font_{fid}.otf"
        files.append((f"Doc_0/Res/{name}", _subset_font(face, "".join(sorted(used[face])) or "。")))
        font_xml.append(
            f'<ofd:Font ID="{fid}" FontName="{fonts.FAMILY}" FamilyName="{fonts.FAMILY}"'
            + (' Bold="true"' if face == "Bold" else "")
            + f"><ofd:FontFile>{name}</ofd:FontFile></ofd:Font>"
        )
    page_entries = []
    for n, page in enumerate(pages):
        pid = next(ids)
        page_entries.append(f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{n}/Content.xml"/>')
        files.append((f"Doc_0/Pages/Page_{n}/Content.xml", _page_xml(page, ids, font_ids).encode()))
    first = pages[0] if pages else Page(595.28, 841.89, [], [])
    max_id = next(ids) - 1
    document = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData>'
        f"<ofd:MaxUnitID>{max_id}</ofd:MaxUnitID>"
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {_mm(first.width)} {_mm(first.height)}</ofd:PhysicalBox></ofd:PageArea>"
        "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData>"
        f"<ofd:Pages>{''.join(page_entries)}</ofd:Pages></ofd:Document>"
    )
    public = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">'
        f"<ofd:Fonts>{''.join(font_xml)}</ofd:Fonts></ofd:Res>"
    )
    doc_id = hashlib.md5(pdf, usedforsecurity=False).hexdigest()
    custom_xml = "".join(
        f"<ofd:CustomData Name={quoteattr(k)}>{escape(v)}</ofd:CustomData>" for k, v in (custom or {}).items()
    )
    fields = [
        ("Title", "title"),
        ("Author", "author"),
        ("Subject", "subject"),
        ("CreationDate", "creation_date"),
        ("Creator", "creator"),
    ]
    info_xml = "".join(f"<ofd:{tag}>{escape(info[key])}</ofd:{tag}>" for tag, key in fields if info.get(key))
    ofd = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD">'
        f"<ofd:DocBody><ofd:DocInfo><ofd:DocID>{doc_id}</ofd:DocID>{info_xml}"
        + (f"<ofd:CustomDatas>{custom_xml}</ofd:CustomDatas>" if custom_xml else "")
        + "</ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
    )
    entries = [
        ("OFD.xml", ofd.encode()),
        ("Doc_0/Document.xml", document.encode()),
        ("Doc_0/PublicRes.xml", public.encode()),
        *files,
    ]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries:
            entry = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, data, compresslevel=6)
    return out.getvalue()

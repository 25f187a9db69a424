"""Check that every reader draws a PDF's text with the glyphs it means (no MuPDF needed).

A composite font's content codes are CIDs. To draw one, a reader looks the CID up in the
embedded font program: in a CID-keyed CFF through its charset (PDF 32000-1, 9.7.4.2), in a
TrueType font through CIDToGIDMap. Poppler and Chromium take the code as a glyph id
instead, so a font whose charset disagrees with the glyph ids still looks right there,
while MuPDF, Ghostscript and veraPDF find no glyph or another one. That is how the first
font build failed (exports/fonts.py).

`font_problems` reads every text-showing operator of every page and form XObject and, for
each composite font it uses, checks what PDF/A-2/3 asks (rules 6.2.11.4-2 and 6.2.11.5 as
veraPDF applies them) plus the text itself:

- each CID used maps to a glyph of the embedded program (6.2.11.4-2);
- the glyph's advance agrees with the font dictionary's /W (or /DW) width (6.2.11.5);
- where ToUnicode gives the character and the font's own cmap knows it, the glyph the CID
  reaches is the one the font gives that character (otherwise the reader draws another
  character, or nothing).

PDF syntax (content streams, the ToUnicode CMap's operators) is tokenised by pikepdf and
the fonts are read by fontTools; this module only interprets what they return.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field

import pikepdf
from fontTools.cffLib import CFFFontSet
from fontTools.ttLib import TTFont

WIDTH_TOLERANCE = 1  # veraPDF accepts a difference of one unit in 1000


class UnreadablePdf(ValueError):
    """The bytes are not a PDF pikepdf can open."""


@dataclass
class _EmbeddedFont:
    """What a reader needs from one composite font: CID -> glyph, widths, cmap."""

    name: str
    cid_to_gid: dict[int, int] | None  # None: the CID is the glyph id
    glyph_count: int
    advances: list[int]  # per glyph id, in 1000ths of the em
    unicode_to_gid: dict[int, int]
    problems: list[str] = field(default_factory=list)

    def glyph(self, cid: int) -> int | None:
        gid = cid if self.cid_to_gid is None else self.cid_to_gid.get(cid)
        return gid if gid is not None and 0 <= gid < self.glyph_count else None


@dataclass
class _FontUse:
    """One composite font dictionary and the CIDs the content shows with it."""

    font: pikepdf.Dictionary
    cids: set[int] = field(default_factory=set)


def font_problems(data: bytes, limit: int = 3) -> list[str]:
    """Say, in Chinese, where the PDF's text would not draw as meant; empty when all is well.

    limit: how many example CIDs to name per font and kind of problem.
    """
    try:
        pdf = pikepdf.open(io.BytesIO(data))
    except pikepdf.PdfError as exc:
        raise UnreadablePdf(str(exc)) from exc
    with pdf:
        uses: dict[tuple[int, int], _FontUse] = {}
        for page in pdf.pages:
            _collect(page.obj, uses, set())
        problems = []
        for use in uses.values():
            problems += _check_font(use, limit)
        return problems


def _collect(holder: pikepdf.Object, uses: dict[tuple[int, int], _FontUse], seen: set) -> None:
    """Record the CIDs each composite font shows in a page or form XObject, recursively."""
    key = holder.objgen
    if key != (0, 0):
        if key in seen:
            return
        seen.add(key)
    resources = holder.get("/Resources") or pikepdf.Dictionary()
    fonts = resources.get("/Font") or pikepdf.Dictionary()
    xobjects = resources.get("/XObject") or pikepdf.Dictionary()
    current = None
    for operands, operator in _instructions(holder):
        op = str(operator)
        if op == "Tf" and operands:
            font = fonts.get(str(operands[0]))
            current = None
            if font is not None and font.get("/Subtype") == "/Type0":
                current = uses.setdefault(font.objgen, _FontUse(font))
        elif op in ("Tj", "'", '"', "TJ") and current is not None:
            for operand in operands:
                items = operand if isinstance(operand, pikepdf.Array) else [operand]
                for item in items:
                    if isinstance(item, pikepdf.String):
                        current.cids.update(_codes(bytes(item)))
        elif op == "Do" and operands:
            xobject = xobjects.get(str(operands[0]))
            if xobject is not None and xobject.get("/Subtype") == "/Form":
                _collect(xobject, uses, seen)


def _instructions(holder: pikepdf.Object) -> Iterator[tuple[list, pikepdf.Operator]]:
    if isinstance(holder, pikepdf.Dictionary) and "/Contents" in holder:
        yield from pikepdf.parse_content_stream(pikepdf.Page(holder))
    elif isinstance(holder, pikepdf.Stream):
        yield from pikepdf.parse_content_stream(holder)


def _codes(raw: bytes) -> Iterator[int]:
    """Two-byte codes, as Identity-H/V (the only encoding our writer uses) reads them."""
    for i in range(0, len(raw) - 1, 2):
        yield raw[i] << 8 | raw[i + 1]


def _check_font(use: _FontUse, limit: int) -> list[str]:
    font = use.font
    name = str(font.get("/BaseFont", "?")).lstrip("/")
    encoding = font.get("/Encoding")
    if encoding not in ("/Identity-H", "/Identity-V"):
        return [f"字体 {name}：编码 {encoding} 不是 Identity-H/V，无法核对。"]
    descendant = font.DescendantFonts[0]
    try:
        embedded = _read_embedded(name, descendant)
    except Exception as exc:  # a font program fontTools cannot read is itself the finding
        return [f"字体 {name}：嵌入的字体程序无法读取（{type(exc).__name__}: {str(exc)[:120]}）。"]
    if embedded is None:
        return [f"字体 {name}：没有嵌入字体程序（PDF/A 6.2.11.4-1）。"]
    problems = list(embedded.problems)
    widths = _widths(descendant)
    default_width = int(descendant.get("/DW", 1000))
    to_unicode = _to_unicode(font)
    missing, wrong_width, wrong_glyph = [], [], []
    for cid in sorted(use.cids):
        gid = embedded.glyph(cid)
        if gid is None:
            missing.append(cid)
            continue
        declared = widths.get(cid, default_width)
        if abs(declared - embedded.advances[gid]) > WIDTH_TOLERANCE:
            wrong_width.append((cid, declared, embedded.advances[gid]))
        text = to_unicode.get(cid, "")
        if len(text) == 1:
            meant = embedded.unicode_to_gid.get(ord(text))
            if meant is not None and meant != gid:
                wrong_glyph.append((cid, text))
    if missing:
        examples = "、".join(str(c) for c in missing[:limit])
        problems.append(
            f"字体 {name}：内容使用的 {len(missing)} 个 CID 在嵌入字体中没有对应字形（如 {examples}），"
            "MuPDF、Ghostscript 等阅读器显示为空白（PDF/A 6.2.11.4-2）。"
        )
    if wrong_glyph:
        examples = "、".join(f"CID {c}“{t}”" for c, t in wrong_glyph[:limit])
        problems.append(
            f"字体 {name}：{len(wrong_glyph)} 个 CID 按字体的 CID 对应表取到的不是文本中的字（如 {examples}），"
            "CID 与字形编号错位。"
        )
    if wrong_width:
        examples = "、".join(f"CID {c}：{d} ≠ {a}" for c, d, a in wrong_width[:limit])
        problems.append(
            f"字体 {name}：{len(wrong_width)} 个 CID 的宽度与嵌入字体不一致（如 {examples}；PDF/A 6.2.11.5）。"
        )
    return problems


def _read_embedded(name: str, descendant: pikepdf.Dictionary) -> _EmbeddedFont | None:
    descriptor = descendant.get("/FontDescriptor") or pikepdf.Dictionary()
    subtype = descendant.get("/Subtype")
    if "/FontFile3" in descriptor:
        stream = descriptor.FontFile3
        data = stream.read_bytes()
        if stream.get("/Subtype") == "/OpenType":
            return _from_opentype(name, TTFont(io.BytesIO(data), lazy=True), subtype)
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(data), None)
        return _from_bare_cff(name, cff)
    if "/FontFile2" in descriptor:
        font = TTFont(io.BytesIO(descriptor.FontFile2.read_bytes()), lazy=True)
        embedded = _from_opentype(name, font, subtype)
        cid_to_gid = descendant.get("/CIDToGIDMap", pikepdf.Name.Identity)
        if isinstance(cid_to_gid, pikepdf.Stream):
            raw = cid_to_gid.read_bytes()
            embedded.cid_to_gid = {i // 2: raw[i] << 8 | raw[i + 1] for i in range(0, len(raw) - 1, 2)}
        return embedded
    return None


def _cff_cid_map(top) -> dict[int, int] | None:
    """CID -> glyph id from a CID-keyed CFF's charset (None when the font is not CID-keyed)."""
    if not hasattr(top, "ROS"):
        return None  # glyphs by name: the CID is taken as the glyph id
    mapping = {}
    for gid, glyph_name in enumerate(top.charset):
        cid = 0 if glyph_name == ".notdef" else int(glyph_name[3:])
        mapping.setdefault(cid, gid)
    return mapping


def _from_opentype(name: str, font: TTFont, subtype: pikepdf.Object) -> _EmbeddedFont:
    scale = 1000 / font["head"].unitsPerEm
    order = font.getGlyphOrder()
    gid_of = {glyph: gid for gid, glyph in enumerate(order)}
    metrics = font["hmtx"].metrics
    advances = [round(metrics[glyph][0] * scale) if glyph in metrics else 0 for glyph in order]
    cmap = font.getBestCmap() or {}
    cid_to_gid = None
    problems = []
    if "CFF " in font:
        cid_to_gid = _cff_cid_map(font["CFF "].cff.topDictIndex[0])
        if subtype != "/CIDFontType0":
            problems.append(f"字体 {name}：CFF 字体程序却声明为 {subtype}。")
    return _EmbeddedFont(
        name=name,
        cid_to_gid=cid_to_gid,
        glyph_count=len(order),
        advances=advances,
        unicode_to_gid={u: gid_of[g] for u, g in cmap.items() if g in gid_of},
        problems=problems,
    )


def _from_bare_cff(name: str, cff: CFFFontSet) -> _EmbeddedFont:
    from fontTools.pens.basePen import NullPen

    top = cff.topDictIndex[0]
    charstrings = top.CharStrings
    advances = []
    for glyph in top.charset:
        charstring = charstrings[glyph]
        charstring.draw(NullPen())  # decompiling sets .width from the private dict
        advances.append(round(charstring.width))
    return _EmbeddedFont(
        name=name,
        cid_to_gid=_cff_cid_map(top),
        glyph_count=len(top.charset),
        advances=advances,
        unicode_to_gid={},
    )


def _widths(descendant: pikepdf.Dictionary) -> dict[int, int]:
    """The /W array as CID -> width (`c [w1 w2 …]` and `first last w` forms)."""
    widths: dict[int, int] = {}
    items = list(descendant.get("/W") or [])
    i = 0
    while i + 1 < len(items):
        first = int(items[i])
        if isinstance(items[i + 1], pikepdf.Array):
            for offset, width in enumerate(items[i + 1]):
                widths[first + offset] = round(float(width))
            i += 2
        elif i + 2 < len(items):
            for cid in range(first, int(items[i + 1]) + 1):
                widths[cid] = round(float(items[i + 2]))
            i += 3
        else:
            break
    return widths


def _to_unicode(font: pikepdf.Dictionary) -> dict[int, str]:
    """CID -> text from the ToUnicode CMap (bfchar and bfrange), tokenised by pikepdf."""
    stream = font.get("/ToUnicode")
    if not isinstance(stream, pikepdf.Stream):
        return {}
    out: dict[int, str] = {}
    for operands, operator in pikepdf.parse_content_stream(stream):
        op = str(operator)
        if op == "endbfchar":
            for src, dst in zip(operands[::2], operands[1::2], strict=False):
                out[_int(src)] = _utf16(dst)
        elif op == "endbfrange":
            for start, end, dst in zip(operands[::3], operands[1::3], operands[2::3], strict=False):
                first, last = _int(start), _int(end)
                if isinstance(dst, pikepdf.Array):
                    for offset, item in enumerate(dst):
                        out[first + offset] = _utf16(item)
                else:
                    base = bytes(dst)
                    for offset in range(last - first + 1):
                        value = int.from_bytes(base, "big") + offset
                        out[first + offset] = _utf16(value.to_bytes(len(base), "big"))
    return out


def _int(value: pikepdf.Object) -> int:
    return int.from_bytes(bytes(value), "big")


def _utf16(value: pikepdf.Object | bytes) -> str:
    return bytes(value).decode("utf-16-be", errors="replace")

"""Fonts for PDF output: the HarfBuzz check, the GBK subset build and the @font-face CSS.

WeasyPrint subsets every embedded font with libharfbuzz-subset; without it, it falls
back to fontTools and a render takes about 30 times longer, so the app refuses to
start without it (`check_harfbuzz_subset`).

The installed Noto Sans CJK fonts are collections (.ttc) whose first face is the
Japanese one: an `@font-face` pointing at the .ttc silently renders Chinese text with
Japanese glyph shapes. `build_fonts` (run at setup: `python -m exports.fonts`) picks
the Simplified Chinese face out of each collection by name, subsets it to GBK plus
ASCII and the punctuation documents use, and writes it under its own family name to
FONT_DIR (git-ignored, generated on each machine, never committed).

The faces are CID-keyed CFF. fontTools' subsetter renumbers the glyphs it keeps but leaves
each glyph's CID (the CFF charset) as it was in Noto, and WeasyPrint writes glyph ids into
the PDF as CIDs (Identity-H). Readers that look CIDs up in the charset, as the PDF
specification says (MuPDF, Ghostscript, veraPDF), then find no glyph or the wrong one.
So each subset is renumbered after subsetting until every glyph's CID equals its glyph id
(`_identity_cids`): then CID and glyph id agree whichever one a reader goes by. The build
number is part of the file names, so a machine holding an older, faulty build makes the
new one on the next set-up instead of keeping the old files.
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
FONT_DIR = Path(os.environ.get("GONGJIAN_FONT_DIR") or ROOT / "fonts").resolve()
NOTO_DIR = Path("/usr/share/fonts/opentype/noto")

FAMILY = "GongjianSans"
# Raise whenever the build changes what ends up in the PDFs: the file names carry it.
# 1: fontTools subset keeping Noto's CIDs (faulty in MuPDF/Ghostscript); 2: CID = glyph id.
FONT_BUILD = 2


@dataclass(frozen=True)
class Face:
    """One face to build: where it comes from and what it becomes."""

    source: str  # file name of the collection in NOTO_DIR
    source_name: str  # PostScript name of the face to take from the collection
    weight: int
    style_name: str  # name ID 2

    @property
    def postscript_name(self) -> str:
        return f"{FAMILY}-{self.style_name}"

    @property
    def filename(self) -> str:
        return f"{self.postscript_name}.build{FONT_BUILD}.otf"

    @property
    def path(self) -> Path:
        return FONT_DIR / self.filename


FACES = (
    Face("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular", 400, "Regular"),
    Face("NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Bold", 700, "Bold"),
)

# Characters outside GBK that documents still use (GBK already has 〔〕《》“”、。…—·).
EXTRA_CHARACTERS = "\u00a0\u2002\u2003\u2009\u200b\u2010\u2011\u2012\u2013\u2212\u20ac\u2022\u00b7\ufeff"

# Library names and the dlopen flag exactly as weasyprint/text/ffi.py (WeasyPrint 70) tries them.
_HARFBUZZ_NAMES = (
    "libharfbuzz-0",
    "harfbuzz",
    "harfbuzz-0.0",
    "libharfbuzz.so.0",
    "libharfbuzz.0.dylib",
    "libharfbuzz-0.dll",
)
_HARFBUZZ_SUBSET_NAMES = (
    "libharfbuzz-subset-0",
    "harfbuzz-subset",
    "harfbuzz-subset-0.0",
    "libharfbuzz-subset.so.0",
    "libharfbuzz-subset.0.dylib",
    "libharfbuzz-subset-0.dll",
)
_SUBSET_SYMBOLS = (
    "hb_subset_input_create_or_fail",
    "hb_subset_input_glyph_set",
    "hb_subset_input_set_flags",
    "hb_subset_input_set",
    "hb_subset_or_fail",
)


def _dlopen(ffi, names):
    flags = 0x00001000 if os.name == "nt" else ffi.RTLD_NOW
    for name in names:
        try:
            return ffi.dlopen(name, flags)
        except OSError:
            continue
    return None


def check_harfbuzz_subset() -> None:
    """Raise RuntimeError unless WeasyPrint can subset fonts with HarfBuzz (>= 4.1.0)."""
    problem = _harfbuzz_problem(_HARFBUZZ_NAMES, _HARFBUZZ_SUBSET_NAMES)
    if problem:
        raise RuntimeError(problem)


# Libraries do not come and go while a process runs, and each lookup of a bare name runs
# ldconfig and gcc (ctypes.util.find_library): look them up once per process and names.
@functools.cache
def _harfbuzz_problem(harfbuzz_names: tuple[str, ...], subset_names: tuple[str, ...]) -> str | None:
    """Say what keeps WeasyPrint from subsetting with HarfBuzz, or None when nothing does."""
    # cffi directly rather than importing weasyprint: same libraries, same names,
    # without adding WeasyPrint's ~0.7 s import to every app start and CLI command.
    from cffi import FFI

    ffi = FFI()
    ffi.cdef(
        """
        int hb_version_atleast (unsigned int major, unsigned int minor, unsigned int micro);
        void * hb_subset_input_create_or_fail (void);
        void * hb_subset_input_glyph_set (void *input);
        void hb_subset_input_set_flags (void *input, unsigned value);
        void * hb_subset_input_set (void *input, int set_type);
        void * hb_subset_or_fail (void *source, const void *input);
        """
    )
    hint = (
        "PDF rendering needs HarfBuzz subsetting (Debian: apt-get install libharfbuzz-subset0, "
        "or run scripts/setup.sh); without it WeasyPrint renders about 30 times slower."
    )
    harfbuzz = _dlopen(ffi, harfbuzz_names)
    subset = _dlopen(ffi, subset_names)
    if harfbuzz is None or subset is None:
        return "libharfbuzz-subset not found. " + hint
    try:
        for symbol in _SUBSET_SYMBOLS:
            getattr(subset, symbol)
    except AttributeError as exc:
        return f"libharfbuzz-subset lacks {exc}. " + hint
    if not harfbuzz.hb_version_atleast(4, 1, 0):
        return "HarfBuzz 4.1.0 or newer is required. " + hint
    return None


def check_pdf_fonts(logger: logging.Logger | None = None) -> None:
    """At start-up: fail without HarfBuzz subsetting; warn when the subset faces are missing."""
    check_harfbuzz_subset()
    if not fonts_ready():
        (logger or log).warning(
            "PDF subset fonts missing in %s: run `python -m exports.fonts` (scripts/setup.sh does); "
            "until then PDFs use the installed Noto Sans CJK SC through fontconfig (slower, larger).",
            FONT_DIR,
        )


def fonts_ready() -> bool:
    """Whether every subset face has been built."""
    return all(face.path.is_file() for face in FACES)


def gbk_characters() -> list[int]:
    """Code points of GBK (as Python's gbk codec knows it) plus ASCII and a few extras."""
    points = set(range(0x20, 0x7F))
    points.update(ord(c) for c in EXTRA_CHARACTERS)
    for cp in range(0x80, 0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        try:
            chr(cp).encode("gbk")
        except UnicodeEncodeError:
            continue
        points.add(cp)
    return sorted(points)


def _select_face(collection, postscript_name: str):
    """The font in a TTCollection whose PostScript name (name ID 6) matches, by name not index."""
    for font in collection.fonts:
        if font["name"].getDebugName(6) == postscript_name:
            return font
    names = [font["name"].getDebugName(6) for font in collection.fonts]
    raise RuntimeError(f"{postscript_name} not found in the collection (it holds {', '.join(names)})")


def _rename(font, face: Face) -> None:
    """Give the subset its own family name, so it never mixes with the installed Noto faces."""
    name = font["name"]
    full = FAMILY if face.style_name == "Regular" else f"{FAMILY} {face.style_name}"
    values = {
        1: FAMILY,
        2: face.style_name,
        3: f"{face.postscript_name};build {FONT_BUILD};GBK subset of {face.source_name}",
        4: full,
        6: face.postscript_name,
    }
    for record in list(name.names):
        if record.nameID in (16, 17, 18, 20, 21, 22):
            name.removeNames(nameID=record.nameID)
    for name_id, value in values.items():
        name.removeNames(nameID=name_id)
        name.setName(value, name_id, 3, 1, 0x409)  # Windows, Unicode BMP, en-US
        name.setName(value, name_id, 1, 0, 0)  # Macintosh, Roman, English
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = [face.postscript_name]
        top = cff.topDictIndex[0]
        top.FullName = full
        top.FamilyName = FAMILY
        if hasattr(top, "FDArray"):
            for fd in top.FDArray:
                if hasattr(fd, "FontName"):
                    fd.FontName = f"{face.postscript_name}-{fd.FontName.rsplit('-', 1)[-1]}"


def _identity_cids(data: bytes) -> bytes:
    """Renumber a CID-keyed CFF font so that every glyph's CID is its glyph id.

    Only the CFF charset names glyphs by CID; every other table (hmtx, vmtx, VORG, cmap,
    GSUB, GPOS) addresses glyphs by id, so setting the new glyph names before any of them
    is read keeps them all pointing at the same glyphs.
    """
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(data))
    top = font["CFF "].cff.topDictIndex[0]
    if not hasattr(top, "ROS"):
        return data  # not CID-keyed: glyphs are found by name, nothing to renumber
    old = list(top.charset)
    new = [".notdef"] + [f"cid{gid:05d}" for gid in range(1, len(old))]
    charstrings = top.CharStrings
    charstrings.charStrings = {new[gid]: charstrings.charStrings[name] for gid, name in enumerate(old)}
    top.charset = new
    top.CIDCount = len(new)
    font.setGlyphOrder(new)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def build_face(face: Face, characters: list[int], folder: Path | None = None, renumber: bool = True) -> Path:
    """Subset one face from its collection, renumber it (CID = glyph id), write it atomically.

    folder: where to write (default FONT_DIR). renumber=False makes the first, faulty build
    (Noto's CIDs kept): only for showing and testing `flask migrate-archive`.
    """
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    collection = TTCollection(str(NOTO_DIR / face.source), lazy=True)
    font = _select_face(collection, face.source_name)
    options = subset.Options()
    # Only what horizontal Chinese documents use: the "*" closure over GSUB would pull in
    # the vertical, traditional and Japanese/Korean variants and double the glyph count.
    options.layout_features = ["ccmp", "kern", "liga", "calt", "halt", "palt", "chws"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.recalc_bounds = True
    options.drop_tables += ["DSIG"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=characters)
    subsetter.subset(font)
    _rename(font, face)
    subset_data = io.BytesIO()
    font.save(subset_data)
    data = _identity_cids(subset_data.getvalue()) if renumber else subset_data.getvalue()
    path = (folder or FONT_DIR) / face.filename
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def _remove_stale_builds() -> list[Path]:
    """Delete faces of earlier builds from FONT_DIR (their CIDs may not match their glyphs)."""
    current = {face.path for face in FACES}
    stale = [path for path in FONT_DIR.glob(f"{FAMILY}-*.otf") if path not in current]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def build_fonts(force: bool = False) -> list[Path]:
    """Build the subset faces that are missing (all of them with force); return their paths."""
    wanted = [face for face in FACES if force or not face.path.is_file()]
    if not wanted:
        return []
    for path in _remove_stale_builds():
        log.info("removed %s (an earlier build)", path)
    missing = [str(NOTO_DIR / f.source) for f in wanted if not (NOTO_DIR / f.source).is_file()]
    if missing:
        raise RuntimeError(f"{', '.join(missing)} missing: apt-get install fonts-noto-cjk")
    characters = gbk_characters()
    start = time.perf_counter()
    if len(wanted) == 1:
        built = [build_face(wanted[0], characters)]
    else:
        # Each face takes half a minute of fontTools work: build them side by side.
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=len(wanted)) as pool:
            built = list(pool.map(build_face, wanted, [characters] * len(wanted)))
    for path in built:
        log.info("built %s", path)
    log.info("subset fonts built in %.1f s", time.perf_counter() - start)
    return built


def font_build() -> str:
    """Which font build PDFs rendered now embed, for provenance records (shown to archivists)."""
    if not fonts_ready():
        return "Noto Sans CJK SC（系统字体，未生成子集）"
    from fontTools.ttLib import TTFont

    font = TTFont(str(FACES[0].path), lazy=True)
    version = (font["name"].getDebugName(5) or "").split(";")[0].removeprefix("Version ").strip()
    return f"{FAMILY} 第 {FONT_BUILD} 版（Noto Sans CJK SC {version} 的 GBK 子集，CID 与字形编号一致）"


def font_face_css() -> str:
    """@font-face rules for the subset faces (empty when they have not been built)."""
    rules = []
    for face in FACES:
        if face.path.is_file():
            rules.append(
                "@font-face {"
                f' font-family: "{FAMILY}"; font-weight: {face.weight}; font-style: normal;'
                f' src: url("{face.path.as_uri()}") format("opentype"); }}'
            )
    return "\n".join(rules)


def main(argv: list[str] | None = None) -> int:
    """Command line: build the subset fonts when missing (--force: rebuild), --check: HarfBuzz."""
    parser = argparse.ArgumentParser(prog="python -m exports.fonts", description=main.__doc__)
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    parser.add_argument("--check", action="store_true", help="only check HarfBuzz subsetting")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="[fonts] %(message)s")
    log.setLevel(logging.INFO)
    try:
        check_harfbuzz_subset()
        if args.check:
            return 0
        built = build_fonts(force=args.force)
    except RuntimeError as exc:
        print(f"[fonts] {exc}", file=sys.stderr)
        return 1
    if not built:
        log.info("subset fonts present in %s", FONT_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())

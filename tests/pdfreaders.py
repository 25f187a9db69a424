"""Open a PDF the way independent readers do: MuPDF, Ghostscript (text and PNG) and Poppler.

`read_everywhere(pdf, folder)` runs each reader once on the first page at a low
resolution and returns what a test needs to say "every reader draws and extracts the
Chinese": the messages MuPDF and Ghostscript print, the text Ghostscript's txtwrite and
pdftotext give back, and, per renderer, the Chinese words (boxes from pdftotext -bbox)
it did not draw as Poppler does.

Poppler takes a composite font's codes as glyph ids, so it draws even the faulty first
font build right: it is the reference. MuPDF drew that build's Chinese blank; Ghostscript
drew a .notdef box for every character, which has ink but does not look like the glyph.
So each word's pixels are correlated with Poppler's, character by character (allowing a
pixel of shift for the rasterisers' rounding). At 100 dpi a word drawn right averages 0.78
or more (minutes, specimen, annual report); a blank or boxed one about 0.2, up to 0.7 when
it also holds digits, which draw right whatever the font.
"""

from __future__ import annotations

import html
import itertools
import re
import statistics
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

DPI = 100
LIKENESS = 0.6  # least mean correlation with Poppler's pixels for a word to count as drawn right
HAN = re.compile(r"[\u4e00-\u9fff]")
FULL_WIDTH = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e“”‘’—…·]+")
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
INK = 140  # a pixel darker than this (0-255 luminance) is text; the 草稿 watermark is lighter
RENDERERS = ("mupdf", "gs")


@dataclass
class Readings:
    mutool_messages: list[str]
    gs_messages: list[str]
    gs_text: str
    poppler_text: str
    chinese_words: list[str]
    misdrawn: dict[str, list[str]] = field(
        default_factory=dict
    )  # renderer -> words not drawn as Poppler does

    def problems(self) -> list[str]:
        """Everything a reader complained about or drew wrong (empty when all is well)."""
        out = [f"mutool: {m}" for m in self.mutool_messages] + [f"gs: {m}" for m in self.gs_messages]
        for renderer in RENDERERS:
            words = self.misdrawn.get(renderer)
            if words:
                out.append(
                    f"{renderer} drew {len(words)} of {len(self.chinese_words)} Chinese words wrong: {words[:5]}"
                )
        return out


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def read_everywhere(pdf: bytes, folder: Path, name: str = "doc") -> Readings:
    """Run MuPDF, Ghostscript and Poppler on the PDF; PNGs of page 1 are left in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    # -N: Debian's MuPDF has no colour management and says so for every file otherwise.
    mutool = _run(
        "mutool", "draw", "-q", "-N", "-r", str(DPI), "-o", f"{name}-mupdf-%d.png", path.name, cwd=folder
    )
    assert mutool.returncode == 0, mutool.stderr
    gs_text = _run(
        "gs",
        "-q",
        "-dSAFER",
        "-dNOPAUSE",
        "-dBATCH",
        "-sDEVICE=txtwrite",
        "-sOutputFile=-",
        path.name,
        cwd=folder,
    )
    assert gs_text.returncode == 0, gs_text.stderr
    gs_png = _run(
        "gs", "-q", "-dSAFER", "-dNOPAUSE", "-dBATCH", "-sDEVICE=png16m", f"-r{DPI}",
        "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
        "-dFirstPage=1", "-dLastPage=1", f"-sOutputFile={name}-gs-1.png", path.name, cwd=folder,
    )  # fmt: skip
    assert gs_png.returncode == 0, gs_png.stderr
    poppler = _run(
        "pdftoppm",
        "-r",
        str(DPI),
        "-png",
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        path.name,
        f"{name}-poppler-1",
        cwd=folder,
    )
    assert poppler.returncode == 0, poppler.stderr
    text = _run("pdftotext", "-enc", "UTF-8", "-layout", path.name, "-", cwd=folder)
    assert text.returncode == 0, text.stderr
    boxes = _run("pdftotext", "-f", "1", "-l", "1", "-bbox", path.name, "-", cwd=folder)
    assert boxes.returncode == 0, boxes.stderr

    words = [
        (html.unescape(word), tuple(float(v) * DPI / 72 for v in coords))
        for *coords, word in WORD.findall(boxes.stdout)
        if HAN.search(html.unescape(word))
    ]
    readings = Readings(
        mutool_messages=_messages(mutool.stderr + mutool.stdout),
        gs_messages=_messages(gs_text.stderr + gs_png.stderr),
        gs_text=gs_text.stdout,
        poppler_text=text.stdout,
        chinese_words=[w for w, _ in words],
    )
    images = {r: Image.open(folder / f"{name}-{r}-1.png").convert("L") for r in ("poppler", *RENDERERS)}
    # Words Poppler draws dark (not the light watermark or footer) are the ones to compare.
    drawn = [(w, box) for w, box in words if images["poppler"].crop(_pixels(box)).getextrema()[0] < INK]
    assert len(drawn) >= len(words) // 2, "Poppler itself drew most Chinese words blank"
    for renderer in RENDERERS:
        readings.misdrawn[renderer] = [
            w
            for w, box in drawn
            if statistics.fmean(_likeness(images["poppler"], images[renderer], c) for c in _cells(w, box))
            < LIKENESS
        ]
    return readings


def _messages(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def _pixels(box: tuple[float, ...]) -> tuple[int, int, int, int]:
    return int(box[0]), int(box[1]), int(box[2]) + 1, int(box[3]) + 1


def _cells(word: str, box: tuple[float, ...]) -> list[tuple[int, int, int, int]]:
    """A word of full-width characters split into one box per character, else the whole box
    (trimmed at top and bottom).

    Compared over a whole line, the blank space between characters makes any two renderings
    alike; per character a .notdef box and the glyph it replaces are not.
    """
    x0, y0, x1, y1 = box
    # The line box reaches from the font's ascent to its descent, where table rules may
    # run; the glyphs sit well inside it.
    margin = (y1 - y0) * 0.12
    y0, y1 = y0 + margin, y1 - margin
    if not FULL_WIDTH.fullmatch(word):
        return [_pixels((x0, y0, x1, y1))]
    step = (x1 - x0) / len(word)
    return [_pixels((x0 + i * step, y0, x0 + (i + 1) * step, y1)) for i in range(len(word))]


def _likeness(reference: Image.Image, image: Image.Image, box: tuple[int, int, int, int]) -> float:
    """Correlation of two renderings' pixels in a box, the best over shifts of up to a pixel.

    The shift absorbs the rasterisers' different rounding of glyph positions; 0 when
    either crop is uniform (a blank).
    """
    x = reference.crop(box)
    x_mean, x_dev = ImageStat.Stat(x).mean[0], ImageStat.Stat(x).stddev[0]
    best = 0.0
    for dx, dy in itertools.product((-1, 0, 1), repeat=2):
        y = image.crop((box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy))
        y_stat = ImageStat.Stat(y)
        if not x_dev or not y_stat.stddev[0]:
            continue
        xy_mean = ImageStat.Stat(ImageChops.multiply(x, y)).mean[0] * 255  # multiply divides by 255
        best = max(best, (xy_mean - x_mean * y_stat.mean[0]) / (x_dev * y_stat.stddev[0]))
    return best

"""Time the minutes PDF: cold and warm render time and size of a 3-page minutes specimen.

    .venv/bin/python bench/pdf.py              # both font set-ups, 20 warm renders each
    .venv/bin/python bench/pdf.py --runs 50

The document is templates/pdf/specimen.html: 12 agenda items, 30 units, 20 actions,
3 A4 pages. Each font set-up runs in a fresh process, so "cold" is the first render
after start-up (the shared FontConfiguration and stylesheets are built then);
"warm" is the median of the following renders. Set-ups:

- subset:     the GBK subset of Noto Sans CJK SC loaded by @font-face (what the app uses)
- fontconfig: no @font-face; the installed Noto Sans CJK SC found through fontconfig
- subset, PDF/A-3a: the archival variant (tagged) with two attachments

Targets (issue 13, tightening issue 4): warm median under 250 ms and under 220 KB. Results are printed and
written to bench/out/pdf.json with the PDFs next to it. Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
TARGET_MS = 250.0
TARGET_KB = 220.0
MODES = ("subset", "fontconfig", "subset-pdfa")


def child(mode: str, runs: int) -> dict:
    """Run in a fresh process: build the document, render it cold, then `runs` times warm."""
    sys.path.insert(0, str(ROOT))
    start = time.perf_counter()
    from flask import render_template

    from app import create_app
    from exports import fonts, pdf

    if mode == "fontconfig":
        # No @font-face: "GongjianSans" is unknown to fontconfig, which falls back to the
        # next family in the stylesheet, the installed Noto Sans CJK SC.
        fonts.font_face_css = lambda: ""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "bench"})
    with app.test_request_context():
        html = render_template("pdf/specimen.html", agenda_count=12, unit_count=30, action_count=20)
    kwargs: dict = {
        "metadata": {"title": "东大街一社区联席〔2026〕3号 会议纪要", "authors": ["青年路社区党委"]}
    }
    if mode == "subset-pdfa":
        kwargs.update(
            variant="pdf/a-3a",
            attachments=[
                ("meeting.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n" * 20, "会议日历"),
                ("minutes.json", ("{" + '"k": "纪要",' * 400 + '"end": 1}').encode(), "纪要数据"),
            ],
        )
    startup = time.perf_counter() - start

    t0 = time.perf_counter()
    document = pdf.render_pdf(html, **kwargs)
    cold = time.perf_counter() - t0
    warm, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        document = pdf.render_pdf(html, **kwargs)
        warm.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)

    OUT.mkdir(exist_ok=True)
    path = OUT / f"specimen-{mode}.pdf"
    path.write_bytes(document)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    pages = next((int(line.split()[-1]) for line in info.splitlines() if line.startswith("Pages:")), None)
    faces = [
        line.split()[0]
        for line in subprocess.run(
            ["pdffonts", str(path)], capture_output=True, text=True
        ).stdout.splitlines()[2:]
    ]
    warm.sort()
    return {
        "mode": mode,
        "startup_s": round(startup, 2),
        "cold_ms": round(cold * 1000, 1),
        "warm_median_ms": round(statistics.median(warm) * 1000, 1),
        "warm_p95_ms": round(warm[max(0, int(len(warm) * 0.95) - 1)] * 1000, 1),
        "warm_min_ms": round(warm[0] * 1000, 1),
        # CPU time is less disturbed than wall time when other processes share the machine.
        "warm_cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
        "size_kb": round(len(document) / 1024, 1),
        "pages": pages,
        "fonts": faces,
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="warm renders per set-up (default 20)")
    parser.add_argument("--only", choices=MODES, help="one set-up")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.runs), ensure_ascii=False))
        return 0

    results = []
    for mode in [args.only] if args.only else MODES:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--runs", str(args.runs)],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return proc.returncode
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    header = (
        f"{'set-up':<12} {'pages':>5} {'cold ms':>8} {'warm med':>9} {'warm p95':>9} {'warm min':>9}"
        f" {'cpu med':>8} {'size KB':>8}  fonts"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        ok = r["warm_median_ms"] < TARGET_MS and r["size_kb"] < TARGET_KB
        print(
            f"{r['mode']:<12} {r['pages']:>5} {r['cold_ms']:>8} {r['warm_median_ms']:>9} "
            f"{r['warm_p95_ms']:>9} {r['warm_min_ms']:>9} {r['warm_cpu_median_ms']:>8} {r['size_kb']:>8}"
            f"  {', '.join(r['fonts'])}"
            f"{'' if ok else '   (over target)'}"
        )
    print(f"targets: warm median < {TARGET_MS:g} ms, size < {TARGET_KB:g} KB (times in ms)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    OUT.mkdir(exist_ok=True)
    (OUT / "pdf.json").write_text(
        json.dumps(
            {"machine": platform.platform(), "python": platform.python_version(), "results": results},
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

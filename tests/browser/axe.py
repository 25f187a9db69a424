"""axe-core in the browser tests: every page a test's browser loads is checked against
WCAG 2.0 and 2.1, levels A and AA (GB/T 37668-2019 follows them).

axe-core comes from npm (tests/a11y/package-lock.json, installed by scripts/setup.sh) and is
injected by Playwright into the pages under test only; users are never sent it. An init script
runs it once each page has loaded and hands the violations to Python through a binding; when a
test ends, the page it is on is checked once more as it is then (after the test's own clicks).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

AXE_JS = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
AXE_REPORT = os.environ.get("AXE_REPORT")  # a file: list the violations there instead of failing
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

# Runs in every document before its own scripts; does its work after `load`, top frame only.
_RUNNER = r"""
(() => {
  if (window.top !== window) return;
  const options = {runOnly: {type: 'tag', values: TAGS}, resultTypes: ['violations']};
  const summary = (results) => results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({target: n.target.join(' '), html: n.html.slice(0, 160)})),
  }));
  const node = (el, extra) => ({target: describe(el), html: el.outerHTML.slice(0, 160) + (extra || '')});
  const describe = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      parts.unshift(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
        (typeof e.className === 'string' && e.className.trim() ? '.' + e.className.trim().split(/\s+/).slice(0, 2).join('.') : ''));
    }
    return parts.join(' > ');
  };
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) return false;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') return false;
    return !el.closest('.visually-hidden, .visually-hidden-focusable:not(:focus), [hidden], .d-none, .collapse:not(.show), .dropdown-menu:not(.show), .modal:not(.show)');
  };
  // The issue's own rules beside axe's: no text under 12 px (SVG text as drawn), and on a phone
  // every control at least 44 px tall or wide-and-tall via its label (links inside running text
  // are exempt, as in WCAG 2.5.5).
  const extra = () => {
    const out = [];
    const small = [];
    for (const el of document.body.querySelectorAll('*')) {
      if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
      if (el.closest('script, style, noscript, title, desc') || !shown(el)) continue;
      let size = parseFloat(getComputedStyle(el).fontSize);
      const svg = el.closest('svg');
      if (svg && svg.getScreenCTM()) size *= svg.getScreenCTM().a;
      if (size < 11.95) small.push(node(el, ' [' + size.toFixed(1) + ' px]'));
    }
    if (small.length) out.push({id: 'text-under-12px', impact: 'serious', help: 'Text must be at least 12 px', nodes: small});
    if (window.innerWidth < 576) {
      const tiny = [];
      const controls = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button]';
      for (const el of document.body.querySelectorAll(controls)) {
        if (!shown(el) || el.closest('.skip-link')) continue;
        if (el.tagName === 'A' && getComputedStyle(el).display === 'inline') {
          const block = el.parentElement;
          const own = [...block.childNodes].filter((n) => n !== el).map((n) => n.textContent).join('').trim();
          if (own) continue;  // a link inside running text
        }
        let r = el.getBoundingClientRect();
        const label = el.labels && el.labels[0];
        if (label && shown(label)) {
          const l = label.getBoundingClientRect();
          if (l.height > r.height) r = l;
        }
        if (r.height < 43.5) tiny.push(node(el, ' [' + Math.round(r.width) + '×' + Math.round(r.height) + ']'));
      }
      if (tiny.length) out.push({id: 'target-under-44px', impact: 'serious', help: 'Touch targets on a phone must be at least 44 px', nodes: tiny});
    }
    return out;
  };
  // A dialog opening or closing (the test clicked while the page was being audited) is a
  // state between two states: its backdrop dims the page and it is aria-hidden while still
  // shown. Such an audit is dropped (null); the page is audited again when the test ends.
  // A dialog may also open and close again while axe-core works (it audits in several
  // tasks): Bootstrap's modal events are counted, and an audit they changed under is dropped.
  const moving = () => !!document.querySelector('.modal-backdrop, .modal.show, .modal[style*="display: block"]');
  let dialogChanges = 0;
  for (const type of ['show.bs.modal', 'shown.bs.modal', 'hide.bs.modal', 'hidden.bs.modal']) {
    document.addEventListener(type, () => { dialogChanges += 1; }, true);
  }
  // A page the browser is leaving (the test clicked a link or posted a form while it was
  // audited) is half torn down: axe-core then sees hidden things as shown (a closed dialog as
  // focusable). Such an audit is dropped; the next page is audited when it loads.
  let leaving = false;
  for (const type of ['beforeunload', 'pagehide']) {
    window.addEventListener(type, () => { leaving = true; }, true);
  }
  let running = null;
  window.__axeAudit = () => {
    running = (running || Promise.resolve()).catch(() => {}).then(() => {
      if (moving() || leaving) return null;
      const before = dialogChanges;
      return axe.run(document, options).then((r) => (
        moving() || leaving || dialogChanges !== before ? null : summary(r).concat(extra())));
    });
    return running;
  };
  // The audit of the page as loaded: reported to Python, and awaitable as window.__axeLoaded.
  window.__axeLoaded = new Promise((resolve) => {
    window.addEventListener('load', () => {
      setTimeout(() => window.__axeAudit().then(
        (violations) => violations && window.__axeReport(location.href, violations),
        () => {},
      ).then(resolve), 0);
    });
  });
})();
""".replace("TAGS", json.dumps(list(TAGS)))


def available() -> bool:
    return AXE_JS.is_file()


class AxeWatch:
    """The WCAG violations axe-core found on the pages of one browser context."""

    def __init__(self, context) -> None:
        if not available():
            raise RuntimeError(f"axe-core is missing ({AXE_JS}): run scripts/setup.sh")
        self.found: dict[tuple[str, str, str], str] = {}  # (path, rule, target) -> help
        self.pages = 0
        context.expose_binding("__axeReport", lambda _source, url, violations: self._record(url, violations))
        context.add_init_script(path=str(AXE_JS))
        context.add_init_script(script=_RUNNER)

    def _record(self, url: str, violations: list[dict]) -> None:
        self.pages += 1
        path = url.split("//", 1)[-1].split("/", 1)[-1]
        for violation in violations:
            for node in violation["nodes"]:
                key = ("/" + path, violation["id"], node["target"])
                self.found[key] = f"{violation['help']} — {' '.join(node['html'].split())}"

    def check(self, page) -> None:
        """Audit the page as it is now (after the test's clicks), if it can still run scripts."""
        try:
            violations = page.evaluate("() => window.__axeAudit ? window.__axeAudit() : null")
        except Exception:  # a closed page, a download, or a page without script
            return
        if violations is not None:
            self._record(page.url, violations)

    def loaded(self, page) -> None:
        """Wait until the audit of the page as it loaded has been reported."""
        page.evaluate("() => window.__axeLoaded")

    def report(self) -> list[str]:
        return [
            f"{path}: {rule} at {target}: {help_}"
            for (path, rule, target), help_ in sorted(self.found.items())
        ]


def axe_verdict(watch: AxeWatch, page, test: str) -> None:
    """Fail the test on any WCAG A/AA violation axe-core found on its pages; with AXE_REPORT set
    to a file, append them there instead (to count them)."""
    watch.check(page)
    found = watch.report()
    if not found:
        return
    if AXE_REPORT:
        with open(AXE_REPORT, "a", encoding="utf-8") as out:
            out.writelines(f"{test}\t{line}\n" for line in found)
        return
    pytest.fail("axe-core: WCAG 2.1 A/AA violations\n" + "\n".join(found[:40]), pytrace=False)

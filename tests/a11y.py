"""Accessibility check of a page in the browser: axe-core (from npm) injected by Playwright.

    from a11y import axe_violations           # tests/ is on sys.path, like conftest
    bad = axe_violations(page)                  # serious and critical ones only
    assert not bad, format_violations(bad)

axe-core is fetched once with npm into var/axe-core/ (gitignored; ``make axe`` does the
same, and ``make test`` runs it first). The version is pinned so a new release cannot
change what the tests find. Without npm and without the cached file the caller skips.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AXE_VERSION = "4.14.1"
AXE_DIR = ROOT / "var" / "axe-core"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def axe_script() -> Path:
    """The path of axe.min.js, fetched with npm the first time (idempotent)."""
    if AXE_JS.exists():
        return AXE_JS
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not installed and axe-core not cached (make axe)")
    AXE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run([npm, "install", "--prefix", str(AXE_DIR), "--no-audit", "--no-fund", "--silent",
                    f"axe-core@{AXE_VERSION}"], check=True, timeout=300)
    assert AXE_JS.exists(), f"npm did not leave {AXE_JS}"
    return AXE_JS


def axe_run(page, selector: str | None = None) -> list[dict]:
    """Every violation axe finds on the page (or inside ``selector``), all impacts."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(axe_script()))
    context = selector or "document"
    return page.evaluate(
        """async ctx => {
            const target = ctx === 'document' ? document : document.querySelector(ctx);
            const r = await axe.run(target, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                                         html: n.html.slice(0, 200)}))}));
        }""", context)


def axe_violations(page, selector: str | None = None) -> list[dict]:
    """The serious and critical violations (what must not ship)."""
    return [v for v in axe_run(page, selector) if v["impact"] in SERIOUS]


def format_violations(violations: list[dict]) -> str:
    """A readable list for an assertion message: rule, impact, and the first nodes."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']}")
        for n in v["nodes"][:5]:
            lines.append(f"    {n['target']}: {((n['summary'] or '').strip().splitlines() or [''])[-1].strip()} {n['html'][:120]}")
    return "\n".join(lines)


def contrast_ratio(page, selector: str, pseudo: str | None = None) -> float:
    """WCAG contrast of an element's text colour against the first opaque background
    behind it (walking up the tree); ``pseudo`` e.g. '::placeholder'."""
    return page.evaluate(
        """([sel, pseudo]) => {
            const el = document.querySelector(sel);
            if (!el) throw new Error('no element ' + sel);
            const parse = c => { const m = c.match(/[\\d.]+/g).map(Number);
                                 return {r: m[0], g: m[1], b: m[2], a: m.length > 3 ? m[3] : 1}; };
            const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92
                                                 : Math.pow((v + 0.055) / 1.055, 2.4); };
                               return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
            let bg = null;
            for (let e = el; e; e = e.parentElement) {
                const c = parse(getComputedStyle(e).backgroundColor);
                if (c.a > 0.9) { bg = c; break; }
            }
            bg = bg || {r: 255, g: 255, b: 255, a: 1};
            let fg = parse(getComputedStyle(el, pseudo || null).color);
            if (fg.a < 1) fg = {r: fg.r * fg.a + bg.r * (1 - fg.a), g: fg.g * fg.a + bg.g * (1 - fg.a),
                                b: fg.b * fg.a + bg.b * (1 - fg.a), a: 1};
            const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
            return (hi + 0.05) / (lo + 0.05);
        }""", [selector, pseudo])


__all__ = ["axe_script", "axe_run", "axe_violations", "format_violations", "contrast_ratio", "AXE_VERSION"]

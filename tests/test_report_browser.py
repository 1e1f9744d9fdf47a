"""The HTML report in a real headless Chromium (Debian's ``chromium``): at 1400 px and at A4 print width, every
table fits and the claims table's verdict and CI columns are on the page (issue 11: they were cut off after
``measure``). Skips, saying why, where chromium is not installed (README, "Tests")."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html import unescape

import pytest
from conftest import SAMPLE

import combotherapy as ct
from combotherapy.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install -y "
                                "chromium); the browser check of the report needs it")

# measures the laid-out page and writes the result into the DOM that --dump-dom prints
_PROBE = """<script>
(function () {
  var view = document.documentElement.clientWidth, out = {view: view, tables: [], headers: {}};
  document.querySelectorAll('table.combotherapy').forEach(function (t) {
    var r = t.getBoundingClientRect();
    out.tables.push({caption: (t.caption || {}).textContent || '', right: r.right, scroll: t.scrollWidth,
                     client: t.clientWidth});
  });
  document.querySelectorAll('table.combotherapy th').forEach(function (th) {
    var r = th.getBoundingClientRect(), key = th.textContent.trim();
    if (!(key in out.headers)) out.headers[key] = {left: r.left, right: r.right, width: r.width};
  });
  document.body.setAttribute('data-probe', JSON.stringify(out));
})();
</script>"""


@pytest.fixture(scope="module")
def report_html():
    return build_report(ct.load(SAMPLE / "three_arm.csv")).html


def _probe(html: str, tmp_path, width: int, *, print_css: bool = False) -> dict:
    if print_css:  # the print rules, applied on screen at the printable width of A4
        html = html.replace("@media print {", "@media all {")
    page = tmp_path / f"report_{width}.html"
    page.write_text(html.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    done = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--window-size={width},1000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=60)
    found = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    return json.loads(unescape(found.group(1)))


def _check(probe: dict) -> None:
    view = probe["view"]
    assert probe["tables"], "no table in the report"
    for t in probe["tables"]:
        assert t["right"] <= view + 1 and t["scroll"] <= t["client"] + 1, (t, view)
    for header in ("Verdict", "95% CI", "p (Holm)", "Estimate"):
        h = probe["headers"].get(header)
        assert h is not None, (header, sorted(probe["headers"]))
        assert h["width"] > 0 and h["right"] <= view + 1, (header, h, view)


def test_every_table_fits_1400_px_with_verdict_and_ci_visible(report_html, tmp_path):
    _check(_probe(report_html, tmp_path, 1400))


def test_every_table_fits_the_printed_page(report_html, tmp_path):
    # A4 (210 mm) less 2 x 12 mm margins at 96 px per inch: about 703 px
    _check(_probe(report_html, tmp_path, 703, print_css=True))
    page = tmp_path / "report.html"
    page.write_text(report_html, encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, timeout=60)
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF")

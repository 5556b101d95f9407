"""The HTML leaderboard rendered in headless Chromium (Debian's ``chromium``; .ci/run installs it)."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ganbench.reports.leaderboard import build_tables, load_references, metric_filter
from ganbench.reports.formats import render_html
from ganbench.store.jsonl import load_results

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def chromium(tmp_path, *args):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (Debian: apt-get install -y chromium; .ci/run installs it)")
def test_html_renders_in_headless_chromium(tmp_path):
    frame = load_results(ROOT / "results" / "archive" / "protocol-v1.jsonl")  # a committed store with several datasets
    tables = build_tables(frame, metric_filter(None, False), load_references())
    page = tmp_path / "leaderboard.html"
    page.write_text(render_html(tables), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count("<table class=\"leaderboard\"") == len(tables) >= 2
    assert "pixels · pixels" in dom and "0.9161" in dom  # the committed store's raw-pixel svm figure
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1200,800", page.as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (800, 1200)
    assert pixels.std() > 10  # not a blank page


# Measured in the page once it has loaded: every table's box against the viewport, and where the row labels
# are after the widest box has been scrolled to its right end (sticky labels stay at the box's left edge).
MEASURE = """<script>
window.addEventListener("load", function(){
  var boxes = Array.prototype.map.call(document.querySelectorAll("div.scroll"), function(box){
    var before = box.getBoundingClientRect();
    var wide = box.scrollWidth > box.clientWidth;
    box.scrollLeft = box.scrollWidth;
    var label = box.querySelector("tbody tr:not(.section-title) td:first-child").getBoundingClientRect();
    var last = box.querySelector("thead th:last-child").getBoundingClientRect();
    return [Math.round(before.left), Math.round(before.right), wide, Math.round(label.left), Math.round(last.right)];
  });
  document.body.setAttribute("data-measured", JSON.stringify({viewport: window.innerWidth, boxes: boxes}));
});
</script>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not found (Debian: apt-get install -y chromium; .ci/run installs it)")
def test_wide_tables_scroll_in_their_own_box_with_the_row_labels_fixed_at_1280_px(tmp_path):
    import html as html_module
    import json
    import re

    store = ROOT / "results" / "reference"
    tables = build_tables(load_results(store), metric_filter(None, False), load_references(), store_dir=store)
    page = tmp_path / "leaderboard.html"
    page.write_text(render_html(tables).replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, "--window-size=1280,900", "--dump-dom", page.as_uri()).stdout
    found = re.search(r'data-measured="([^"]*)"', dom)
    assert found, dom[:500]
    measured = json.loads(html_module.unescape(found.group(1)))
    assert len(measured["boxes"]) == len(tables)
    assert any(wide for _, _, wide, _, _ in measured["boxes"])  # the committed mnist table is wider than the page
    for left, right, wide, label_left, last_right in measured["boxes"]:
        assert right <= measured["viewport"]  # no table reaches past the window: it scrolls inside its box
        assert abs(label_left - left) <= 2  # scrolled to its end, the row labels are still at the box's left edge
        assert last_right <= right + 2  # and the last column has come into the box
    shot = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri())
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert pixels.shape == (900, 1280) and pixels.std() > 10

"""The HTML leaderboard rendered in headless Chromium (Debian's ``chromium``; .ci/run installs it)."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from ganbench.leaderboard import build_tables, load_references, metric_filter
from ganbench.leaderboard_formats import render_html
from ganbench.store import load_results

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

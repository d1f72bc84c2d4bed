"""The dashboard in a real browser: headless Chromium loads it offline, a probe script reports
the plots, their traces with data, the drawn markers and any JS error; a screenshot must show
plots (pixel variety, the front's colour)."""

from __future__ import annotations

import html
import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
from test_dashboard import BASELINES, make_run, make_snasnet_run, make_two_phase_run

from cosearch.dashboard import write_dashboard

CHROMIUM = shutil.which("chromium")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="no `chromium` binary on PATH: install Debian's package (apt-get install -y chromium)"
)]

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--hide-scrollbars",
         "--virtual-time-budget=15000"]

# Installed before plotly.js runs: collects uncaught errors, rejected promises and console.error.
ERROR_HOOK = """<script>window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push('error: ' + e.message); });
window.addEventListener('unhandledrejection', function (e) { window.__errors.push('rejection: ' + e.reason); });
(function () { var original = console.error; console.error = function () {
  window.__errors.push('console: ' + Array.from(arguments).join(' ')); original.apply(console, arguments); }; })();
</script>"""

# After load: exercise the selectors and the table sort, then write what is on the page into <pre id="probe">.
PROBE = """<script>window.addEventListener('load', function () { setTimeout(function () {
  function points(t) {
    if (t.dimensions) return t.dimensions.length ? t.dimensions[0].values.length : 0;
    if (t.cells) return t.cells.values.length ? t.cells.values[0].length : 0;
    return Math.max.apply(null, ['x', 'y', 'z'].map(function (k) {
      if (t[k] && t[k].bdata) return 1;  // a typed array plotly.js has not unpacked in place
      return t[k] ? Array.from(t[k]).filter(function (v) { return v !== null; }).length : 0; }));
  }
  function traces() {
    var out = {};
    document.querySelectorAll('.js-plotly-plot').forEach(function (el) {
      if (el.style.display !== 'none') out[el.id] = (el.data || []).filter(function (t) { return points(t) > 0; }).length;
    });
    return out;
  }
  function mapColumn(name) {
    var el = document.getElementById('fig-map');
    if (!el || !el.data || !el.data.length) return null;
    var index = el.data[0].header.values.indexOf('<b>' + name + '</b>');
    return index < 0 ? null : Array.from(el.data[0].cells.values[index]);
  }
  var out = {errors: window.__errors, traces: traces(),
             markers: document.querySelectorAll('#fig-pareto .scatterlayer .point').length,
             summary: (document.getElementById('design-summary') || {}).textContent || '',
             parallelTicks: Array.from(document.querySelectorAll('#fig-parallel .tick text')).map(function (t) {
               return t.textContent; }),
             parallelMarkup: document.querySelectorAll('#fig-parallel .tick text tspan, #fig-parallel .tick sup').length,
             mapDevices: mapColumn('device'),
             hvNote: (document.getElementById('hv-reference') || {}).textContent || ''};
  var pair = document.getElementById('pair');
  if (pair && pair.options.length > 1) {
    pair.value = pair.options[pair.options.length - 1].value; pair.dispatchEvent(new Event('change'));
    out.markersAfterPair = document.querySelectorAll('#fig-pareto .scatterlayer .point').length;
  }
  var design = document.getElementById('design-select');
  if (design && design.options.length > 1) {
    design.value = design.options[design.options.length - 1].value; design.dispatchEvent(new Event('change'));
    out.summaryAfterDesign = document.getElementById('design-summary').textContent;
  }
  var header = document.querySelector('#pareto-table th');
  if (header) {
    header.click(); header.click();
    out.sortedTrials = Array.from(document.querySelectorAll('#pareto-table tbody tr')).map(function (tr) {
      return Number(tr.dataset.trial); });
  }
  out.tracesAfter = traces();
  out.errors = window.__errors;
  var pre = document.createElement('pre'); pre.id = 'probe'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
}, 500); });</script>"""


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile and no network services."""
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def probe(page: Path, tmp: Path) -> dict:
    """Load an instrumented copy of ``page`` and return what the probe script found."""
    text = page.read_text()
    text = text.replace('<meta charset="utf-8">', '<meta charset="utf-8">' + ERROR_HOOK, 1)
    text = text.replace("</body>", PROBE + "</body>", 1)
    copy = tmp / f"probed_{page.name}"
    copy.write_text(text)
    result = chromium("--dump-dom", copy.as_uri(), profile=tmp / f"profile_{page.stem}")
    found = re.search(r'<pre id="probe">(.*?)</pre>', result.stdout, re.S)
    assert found, f"probe did not report; chromium stderr:\n{result.stderr[-3000:]}"
    return json.loads(html.unescape(found.group(1)))


def read_png(path: Path) -> np.ndarray:
    """RGB(A) pixels ``[h, w, c]`` of an 8-bit non-interlaced PNG (stdlib zlib + numpy)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks = 8, []
    while pos < len(data):
        (size,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            chunks.append(body)
    bpp = 3 if color == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8).reshape(height, width * bpp + 1)
    pixels = np.zeros((height, width * bpp), dtype=np.uint8)
    previous = np.zeros(width * bpp, dtype=np.uint8)
    for y in range(height):
        kind, line = raw[y, 0], raw[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 1:  # Sub: running sum per channel
            row = (np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.int64) % 256).astype(np.uint8).ravel()
        elif kind == 2:  # Up
            row = line + previous
        else:  # Average / Paeth: sequential in the row
            row = bytearray(line.tobytes())
            up = previous.tobytes()
            for i in range(len(row)):
                a = row[i - bpp] if i >= bpp else 0
                b, c = up[i], (up[i - bpp] if i >= bpp else 0)
                if kind == 3:
                    row[i] = (row[i] + ((a + b) >> 1)) & 255
                else:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            row = np.frombuffer(bytes(row), dtype=np.uint8)
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, bpp)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("dashboard_browser")
    two_phase = make_two_phase_run(tmp)
    single = make_run(tmp, "single", trials=10, seed=5)
    edap = make_run(tmp, "edap", evaluators=[{"type": "cost", "options": {}}], constraints=[], trials=10,
                    objectives=[{"metric": "hw_edap", "direction": "minimize"},
                                {"metric": "hw_area_mm2", "direction": "minimize"}], enqueue=BASELINES[1:])
    return {"two_phase": write_dashboard(two_phase, tmp / "two_phase.html", compare=[single]),
            "snas": write_dashboard(make_snasnet_run(tmp), tmp / "snas.html"),
            "edap": write_dashboard(edap, tmp / "edap.html")}


def test_two_phase_dashboard_renders_without_errors(pages, tmp_path):
    found = probe(pages["two_phase"], tmp_path)
    assert found["errors"] == []
    traces = found["traces"]
    assert set(traces) == {"fig-pareto", "fig-compare", "fig-progress", "fig-parallel", "fig-map"}
    assert traces["fig-pareto"] >= 4  # front staircase, dominated, Pareto, infeasible or baselines
    assert traces["fig-compare"] == 4 and traces["fig-progress"] >= 5  # run + 2 phases + 2 best-so-far
    assert traces["fig-parallel"] == 1 and traces["fig-map"] == 1
    assert found["markers"] >= 20  # every completed trial is a drawn marker (22 trials, none failed)
    assert found["summary"].startswith("trial ")
    assert found["sortedTrials"] == sorted(found["sortedTrials"], reverse=True)
    assert found["tracesAfter"] == traces


def test_snasnet_dashboard_shows_3d_front_breakdown_and_cell(pages, tmp_path):
    found = probe(pages["snas"], tmp_path)
    assert found["errors"] == []
    traces = found["traces"]
    assert {"fig-pareto", "fig-pareto3d", "fig-progress", "fig-parallel", "fig-map", "fig-breakdown", "fig-cell"} == set(traces)
    assert traces["fig-pareto3d"] >= 2 and traces["fig-breakdown"] >= 10 and traces["fig-cell"] >= 2
    assert found["markersAfterPair"] >= 12
    assert found["summaryAfterDesign"] != found["summary"]
    assert found["tracesAfter"]["fig-map"] == 1


def test_screenshot_is_not_blank(pages, tmp_path):
    shot = tmp_path / "dashboard.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1400,2400", pages["two_phase"].as_uri(),
                      profile=tmp_path / "profile")
    assert shot.is_file(), result.stderr[-3000:]
    pixels = read_png(shot)[..., :3]
    assert pixels.shape == (2400, 1400, 3)
    colours = np.unique(pixels.reshape(-1, 3).astype(np.uint32) @ np.array([1 << 16, 1 << 8, 1], dtype=np.uint32))
    assert len(colours) > 500, f"only {len(colours)} colours: blank page?"
    assert (pixels.min(axis=2) < 200).mean() > 0.01  # more than a white page with a title
    front = np.all(np.abs(pixels.astype(int) - (31, 95, 168)) < 12, axis=2)  # FRONT_COLOR markers and lines
    assert front.sum() > 200


def test_edap_axes_map_defaults_and_reference_point_read_right(pages, tmp_path):
    """hw_edap spans decades (1e+12 pJ*ns*mm^2): its parallel axis ticks are plain text, not raw
    ``<sup>`` markup; layers the space leaves unmapped show the cards' device; the page says why the
    hypervolume is 0 (the baseline is the reference point)."""
    found = probe(pages["edap"], tmp_path)
    assert found["errors"] == []
    ticks = found["parallelTicks"]
    assert ticks and not any("sup" in t or "<" in t or "×10" in t for t in ticks), ticks
    assert any("e+" in t for t in ticks), ticks  # the hw_edap axis, in plain exponent form
    assert found["parallelMarkup"] == 0
    assert found["mapDevices"] and set(found["mapDevices"]) == {"rram (default)"}  # the cards' default device
    note = found["hvNote"]
    assert note.startswith("Hypervolume reference point: the worst value of each objective over the baselines "
                           "vgg16_slim (hw_edap "), note
    assert "a design counts only where it beats every baseline on every objective, so the hypervolume stays 0 " \
           "until one does" in note

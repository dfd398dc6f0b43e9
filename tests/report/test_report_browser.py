"""The report's web page in a real browser (headless Chromium), offline.

A small harness page loads index.html in a frame and reports what the browser made of it:
whether each image loaded, the text a reader sees (no raw TeX), whether the MathML was laid
out as mathematics, and every resource the page asked for. Chromium's network log, with
every host name resolving nowhere, shows any request the page started outside its folder;
a canary page with an outside image and style sheet proves that the check can fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p and Path(p).is_file()), None)
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (Debian: apt-get "
                                                           "install chromium)")]
WIDTH = 1366

HARNESS = """<!DOCTYPE html><html><body>
<iframe id="page" src="PAGE" style="width: WIDTHpx; height: 900px; border: 0"></iframe>
<pre id="result">not loaded</pre>
<script>
window.addEventListener("load", () => {
  const frame = document.getElementById("page"), doc = frame.contentDocument, out = {};
  try {
    out.images = [...doc.images].map(i => ({src: i.src, loaded: i.complete && i.naturalWidth > 0}));
    out.text = doc.body.innerText;
    out.maths = doc.querySelectorAll("math").length;
    const frac = doc.querySelector("mfrac"), name = doc.querySelector("mi");
    out.frac_height = frac ? frac.getBoundingClientRect().height : 0;
    out.name_height = name ? name.getBoundingClientRect().height : 0;
    out.resources = frame.contentWindow.performance.getEntriesByType("resource").map(e => e.name);
    out.links = [...doc.querySelectorAll("[src], [href]")].map(e => e.src || e.href);
    out.page_width = doc.documentElement.scrollWidth;
    out.overflowing = [...doc.querySelectorAll(".equation")]
      .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 60));
  } catch (error) { out.error = String(error); }
  document.getElementById("result").textContent = JSON.stringify(out);
});
</script></body></html>"""


def _chromium(*args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND", *args],
            capture_output=True, text=True, timeout=180, check=False)


def browse(page: Path, work: Path) -> tuple[dict, list[str]]:
    """What the browser saw of `page`, and the URLs of requests it started outside file://."""
    harness = work / "harness.html"
    harness.write_text(HARNESS.replace("PAGE", page.as_uri()).replace("WIDTH", str(WIDTH)), "utf-8")
    netlog = work / "netlog.json"
    done = _chromium("--allow-file-access-from-files", f"--log-net-log={netlog}",
                     "--virtual-time-budget=10000", "--dump-dom", harness.as_uri())
    dom = done.stdout
    start = dom.index('<pre id="result">') + len('<pre id="result">')
    raw = dom[start:dom.index("</pre>", start)]
    result = json.loads(raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    log = json.loads(netlog.read_text("utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    # The browser's own background requests have no origin; the page's come from file://.
    outside = [e["params"]["url"] for e in log["events"]
               if e["type"] == start_job and "url" in e.get("params", {})
               and e["params"].get("initiator") != "not an origin"]
    return result, outside


@pytest.fixture(scope="module")
def report_folder(made_report) -> Path:
    return made_report("errata")[1]  # every section, the errata's too


def test_canary_outside_requests_are_caught(tmp_path):
    page = tmp_path / "canary" / "index.html"
    page.parent.mkdir()
    page.write_text('<!DOCTYPE html><p>canary</p><img src="http://example.invalid/x.png">'
                    '<link rel="stylesheet" href="https://cdn.example.invalid/a.css">', "utf-8")
    result, outside = browse(page, tmp_path)
    assert result["text"].strip() == "canary"
    assert [i["loaded"] for i in result["images"]] == [False]
    assert sorted(outside) == ["http://example.invalid/x.png", "https://cdn.example.invalid/a.css"]


def test_page_renders_offline(report_folder, tmp_path):
    result, outside = browse(report_folder / "index.html", tmp_path)
    assert "error" not in result, result.get("error")
    assert outside == []
    folder = report_folder.as_uri() + "/"
    assert all(url.startswith(folder) for url in result["resources"] + result["links"]), result
    images = result["images"]
    assert len(images) == 1 + 6 + 1 and all(i["loaded"] for i in images), images
    text = result["text"]
    assert "Forward pass" in text and "Best learning rate" in text and "two mistakes" in text
    for raw in ("$$", "\\frac", "\\partial", "\\begin", "\\times"):
        assert raw not in text, raw
    # MathML laid out as mathematics: a fraction stands taller than a single letter.
    assert result["maths"] > 100
    assert result["frac_height"] > 1.5 * result["name_height"] > 0
    assert result["page_width"] <= WIDTH and result["overflowing"] == []


def test_screenshot_is_not_blank(report_folder, tmp_path):
    import numpy as np
    from PIL import Image

    shot = tmp_path / "report.png"
    _chromium("--hide-scrollbars", f"--window-size={WIDTH},2400", f"--screenshot={shot}",
              (report_folder / "index.html").as_uri())
    image = Image.open(shot).convert("RGB")
    assert image.width == WIDTH
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    inked = float((pixels.sum(axis=1) < 600).mean())
    assert inked > 0.02, f"only {inked:.1%} of the page is not white"
    colours = np.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2])
    assert len(colours) > 100  # text, the picture's fill, the plots' lines


def test_general_network_page_renders_offline(made_report, tmp_path):
    """The softmax example's page: δ sections, \\ln, \\exp and \\max drawn as MathML."""
    folder = made_report("softmax")[1]
    result, outside = browse(folder / "index.html", tmp_path)
    assert "error" not in result, result.get("error")
    assert outside == []
    images = result["images"]
    assert len(images) == 1 + 3 + 1 and all(i["loaded"] for i in images), images
    text = result["text"]
    assert "(the output layer)" in text and "(the hidden layer)" in text and "Best learning rate" in text
    for raw in ("$$", "\\frac", "\\partial", "\\delta", "\\ln", "\\operatorname", "\\times"):
        assert raw not in text, raw
    assert result["maths"] > 100
    assert result["page_width"] <= WIDTH and result["overflowing"] == []


def test_optimizer_page_renders_offline(tmp_path):
    """The linear-adam example's page: Adam's update equations (\\hat, \\sqrt, \\leftarrow) as MathML."""
    import tomllib

    from sheetgen.config import example_text, from_mapping
    from sheetgen.report import write_report

    config = from_mapping(tomllib.loads(example_text("linear-adam"))
                          | {"output_dir": str(tmp_path / "out"), "iterations": 12})
    write_report(config.training())
    folder = config.output_dir / "report"
    result, outside = browse(folder / "index.html", tmp_path)
    assert "error" not in result, result.get("error")
    assert outside == []
    images = result["images"]
    rates = len(config.learning_rates)
    assert len(images) == 1 + rates + 1 and all(i["loaded"] for i in images), images
    text = result["text"]
    assert "Update: adam" in text and "One step over the batch" in text and "Best learning rate" in text
    for raw in ("$$", "\\frac", "\\hat", "\\sqrt", "\\leftarrow", "\\beta", "\\varepsilon", "\\times"):
        assert raw not in text, raw
    assert result["maths"] > 20  # every equation and inline symbol: 36 on this page
    assert result["page_width"] <= WIDTH and result["overflowing"] == []

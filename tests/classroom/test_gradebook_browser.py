"""gradebook.html in a real browser (headless Chromium), offline: the chart is drawn, every
student's row links to their details, names from files stay text, and the page asks for
nothing outside its folder."""

from __future__ import annotations

import json

import pytest

from sheetgen.classroom.grade import Entry, Gradebook
from sheetgen.classroom.gradebook import to_html
from tests.report.test_report_browser import CHROMIUM, _chromium

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed")]

HARNESS = """<!DOCTYPE html><html><body>
<iframe id="page" src="PAGE" style="width: 1200px; height: 900px; border: 0"></iframe>
<pre id="result">not loaded</pre>
<script>
window.addEventListener("load", () => {
  const frame = document.getElementById("page"), doc = frame.contentDocument, out = {};
  try {
    out.bars = [...doc.querySelectorAll("svg.chart rect")].map(r => r.getBoundingClientRect().width);
    out.labels = [...doc.querySelectorAll("svg.chart text")].map(t => t.textContent);
    out.rows = [...doc.querySelectorAll("table.students tr")].slice(1).map(tr => tr.innerText);
    out.links = [...doc.querySelectorAll("table.students a")].map(a => a.getAttribute("href"));
    out.targets = out.links.map(h => !!doc.getElementById(h.slice(1)));
    out.injected = doc.querySelectorAll("img, script").length;
    out.resources = frame.contentWindow.performance.getEntriesByType("resource").map(e => e.name);
  } catch (error) { out.error = String(error); }
  document.getElementById("result").textContent = JSON.stringify(out);
});
</script></body></html>"""


def book() -> Gradebook:
    blank = ("dE_dw5", "w5")
    marks = {"dE_dw5": 2.0, "w5": 1.0}
    return Gradebook([
        Entry("exercise_s001.xlsx", "s001", "Ana", "file name", 3, 3, {"dE_dw5": "right", "w5": "right"}),
        Entry("exercise_s002.xlsx", "s002", '<img src=x onerror="alert(1)">', "file name", 1, 3,
              {"dE_dw5": "mistake", "w5": "follows"}, "From AB17 on, E∂W5 uses t2 where t1 belongs",
              mistakes=[("substitution", "dE_dw5", "From AB17 on, E∂W5 uses t2 where t1 belongs")]),
        Entry("exercise_s003.xlsx", "s003", "=HYPERLINK(1)", "numbers", 0, 3,
              {"dE_dw5": "pasted", "w5": "pasted"}, "E∂W5: numbers typed where formulas belong",
              mistakes=[("pasted", "dE_dw5", "E∂W5: numbers typed where formulas belong"),
                        ("pasted", "w5", "w5: numbers typed where formulas belong"),
                        ("sign", "w5", "w5 is updated with the wrong sign")]),
        Entry("exercise_s004.xlsx", "s004", "Bo", "file name", 2, 3, {"dE_dw5": "right", "w5": "mistake"},
              "w5 uses w6", mistakes=[("substitution", "w5", "w5 uses w6")]),
        Entry("exercise_s005.xlsx", "s005", "Cy", "file name", 2, 3, {"dE_dw5": "right", "w5": "mistake"},
              "w5 uses w7", mistakes=[("substitution", "w5", "w5 uses w7")]),
        Entry("exercise_s006.xlsx", "s006", "Di", "file name", 2, 3, {"dE_dw5": "right", "w5": "mistake"},
              "w5 uses w8", mistakes=[("substitution", "w5", "w5 uses w8")]),
        Entry("garbage.xlsx", problem="not graded: not a workbook", out_of=3),
    ], blank, marks)


def test_the_gradebook_page_in_chromium(tmp_path):
    page = tmp_path / "gradebook.html"
    page.write_text(to_html(book()), "utf-8")
    harness = tmp_path / "harness.html"
    harness.write_text(HARNESS.replace("PAGE", page.as_uri()), "utf-8")
    done = _chromium("--allow-file-access-from-files", "--virtual-time-budget=10000", "--dump-dom",
                     harness.as_uri())
    dom = done.stdout
    start = dom.index('<pre id="result">') + len('<pre id="result">')
    raw = dom[start:dom.index("</pre>", start)]
    seen = json.loads(raw.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))
    assert "error" not in seen, seen
    counts = book().slip_counts()
    assert counts == {"substitution": 4, "not graded": 1, "pasted": 1, "sign": 1}
    # One bar per kind, as long as its count (the longest bar: the most frequent kind).
    assert len(seen["bars"]) == len(counts)
    assert seen["bars"][0] == max(seen["bars"])
    assert seen["bars"][1] == pytest.approx(seen["bars"][0] / 4, abs=1)
    assert "substitution" in seen["labels"] and "4" in seen["labels"]
    assert len(seen["rows"]) == 7 and all(seen["targets"])
    assert '<img src=x onerror="alert(1)">' in seen["rows"][1] and seen["injected"] == 0
    assert "not graded" in seen["rows"][6]
    assert all(r.startswith("file:") for r in seen["resources"])

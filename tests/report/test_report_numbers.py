"""Every number the report prints is checked against a hand-written recomputation.

The Markdown is parsed back: each equation's result against the independent model's value of
its left-hand side; each number substituted into a formula against the value of the symbol it
replaces (the numeric line and the formula line are aligned token by token), and the
arithmetic of the substituted line against its result; each table cell and each number in
the prose against the runs. A number the parser cannot account for fails the test.
"""

from __future__ import annotations

import math
import re

import pytest
from report_maths import run, sigmoid

from sheetgen.config import Config

SETUP = {"i1": 0.05, "i2": 0.1, "t1": 0.01, "t2": 0.99, "w1": 0.15, "w2": 0.2, "w3": 0.25,
         "w4": 0.3, "w5": 0.4, "w6": 0.45, "w7": 0.5, "w8": 0.55, "b1": 0.0, "b2": 0.0}


class Truth:
    """The independent model's numbers for one configuration."""

    def __init__(self, config: Config):
        s = config.setup
        setup = {k: getattr(s, k) for k in SETUP}
        self.biases = s.biases
        self.rates = list(config.learning_rates)
        self.n = config.iterations
        self.errata = config.reference_errata
        self.runs = {r: run(setup, r, self.n, self.errata, s.biases) for r in self.rates}
        self.correct = {r: run(setup, r, self.n, False, s.biases) for r in self.rates}
        self.first = self.runs[self.rates[0]][0]

    def value(self, key) -> float:
        kind, name = key
        if kind == "name":
            return self.rates[0] if name == "learning_rate" else self.first[name]
        if kind == "grad":
            return self.first[f"dE_d{name}"]
        if kind == "next":
            return self.first[f"next_{name}"]
        if kind in ("correct", "original"):
            return (self.correct if kind == "correct" else self.runs)[self.rates[0]][0][f"dE_d{name}"]
        raise KeyError(key)


@pytest.fixture(scope="module", params=["default", "errata", "biased", "trained"])
def report(request, made_report):
    config, folder = made_report(request.param)
    return (folder / "README.md").read_text("utf-8"), Truth(config)


# --- reading the Markdown back --------------------------------------------------------------

SYMBOL = (r"\\frac\{\\partial E_\{\\text\{total\}\}\}\{\\partial ([a-z])_\{(\d+)\}\}"   # gradient
          r"|\\frac\{\\partial [^{}]*(?:\{(?:[^{}]|\{[^{}]*\})*\})?\}\{\\partial [^{}]*(?:\{[^{}]*\})?\}"
          r"|\\eta"
          r"|([A-Za-z])_\{(?:\\text\{(\w+)\}|(\w+))\}(\^\{\+\})?")


def _name(match: re.Match) -> tuple[str, str]:
    if match.group(1):
        return ("grad", match.group(1) + match.group(2))
    if match.group(0) == r"\eta":
        return ("name", "learning_rate")
    if match.group(3):
        sub = match.group(4) or match.group(5)
        name = match.group(3) + ("_" + sub if sub[0].isalpha() else sub)
        return ("next", name) if match.group(6) else ("name", name)
    return ("local", match.group(0))


def _placeholders(latex: str) -> tuple[str, list]:
    names = []

    def swap(m: re.Match) -> str:
        names.append(_name(m))
        return " § "

    return re.sub(SYMBOL, swap, latex), names


def _normal(latex: str) -> str:
    latex = re.sub(r"(\d+(?:\.\d+)?) \\times 10\^\{(-?\d+)\}", r"\1e\2", latex)
    latex = re.sub(r"\(-([0-9.e-]+)\)", r"~\1", latex)
    latex = latex.replace(r"\tfrac{1}{2}", "0.5").replace(r"\cdot", "*").replace(r"\times", "*")
    return latex.replace(" ", "")


TOKEN = re.compile(r"§|~?\d+(?:\.\d+)?(?:e-?\d+)?|\\sigma|\\frac|[-+*()^{}/]")


def _tokens(latex: str) -> list[str]:
    text = _normal(latex)
    tokens = TOKEN.findall(text)
    assert "".join(tokens) == text, f"unparsed text in {latex!r}"
    return tokens


def _float(token: str) -> float:
    return float(token.replace("~", "-"))


def rounded(printed: float, true: float, digits: int) -> bool:
    """Whether `printed` is `true` rounded to `digits` significant digits (half a unit of the
    last digit, no more)."""
    if true == 0:
        return printed == 0
    unit = 10.0 ** (math.floor(math.log10(abs(true))) - digits + 1)
    return abs(printed - true) <= 0.5 * unit * (1 + 1e-9) + 1e-300


def _evaluate(latex: str) -> float:
    python = "".join(f"({_float(t)})" if t[0] in "~0123456789" else
                     {"\\sigma": "sigmoid", "^": "**", "{": "(", "}": ")"}.get(t, t)
                     for t in _tokens(latex))
    return eval(python, {"__builtins__": {}, "sigmoid": sigmoid})  # noqa: S307


def _is_numeric(latex: str) -> bool:
    return "§" not in _placeholders(latex)[0]


def _lhs(latex: str):
    latex = latex.strip()
    label = re.match(r"\\text\{(correct|original): \}\s*(.*)", latex)
    if label:
        kind, rest = label.groups()
        return (kind, _name(re.fullmatch(SYMBOL, rest))[1])
    match = re.fullmatch(SYMBOL, latex)
    assert match, f"unknown left-hand side {latex!r}"
    return _name(match)


def equations(markdown: str) -> tuple[list[str], str]:
    """All math (display and inline) as one-line LaTeX, and the text with it taken out."""
    found = []

    def take(m: re.Match) -> str:
        latex = m.group(1)
        for pattern in (r"\\begin\{aligned\}", r"\\end\{aligned\}", r"\\qquad", "&", r"\\\\", r"\{\}"):
            latex = re.sub(pattern, " ", latex)
        found.append(re.sub(r"\s+", " ", latex).strip())
        return " "

    text = re.sub(r"\$\$\n(.*?)\n\$\$", take, markdown, flags=re.S)
    text = re.sub(r"\$([^$\n]+)\$", take, text)
    return found, text


def check_equation(latex: str, truth: Truth, formulas: dict) -> int:
    """Check one equation; returns how many numbers it checked. `formulas`: the last formula
    seen for each left-hand side (a worked line may follow its formula's line)."""
    if latex == r"\sigma(x) = \frac{1}{1 + e^{-x}}":
        return 0
    if " = " not in latex:  # a name in the prose: no number in it
        assert not re.search(r"\d", _placeholders(latex)[0]), latex
        return 0
    lhs, *sides = latex.split(" = ")
    key = _lhs(lhs)
    checked = 0
    symbolic = formulas.get(key)
    value = None
    if sides and re.fullmatch(r"~?[0-9.e-]+", _normal(sides[-1])):
        value = _float(_normal(sides[-1]))
        assert rounded(value, truth.value(key), 10), (latex, truth.value(key))
        checked += 1
        sides = sides[:-1]
    for side in sides:
        if not _is_numeric(side):
            symbolic = formulas[key] = side
            # A formula holds no number but the structure's constants (1 - a, ^2, 1/2).
            constants = {_float(t) for t in _tokens(_placeholders(side)[0]) if t[0].isdigit()}
            assert constants <= {0.5, 1.0, 2.0}, side
            continue
        assert symbolic is not None and value is not None, latex
        template, names = _placeholders(symbolic)
        sym, num = _tokens(template), _tokens(side)
        assert len(sym) == len(num), (symbolic, side)
        operands = iter(names)
        for s, n in zip(sym, num, strict=True):
            if s == "§":
                expected = truth.value(next(operands))
                assert rounded(_float(n), expected, 6), (side, n, expected)
                checked += 1
            else:
                assert s == n, (symbolic, side)
        assert _evaluate(side) == pytest.approx(value, rel=1e-4, abs=1e-9), latex
    return checked


def test_every_equation_number_is_the_models(report):
    markdown, truth = report
    found, _ = equations(markdown)
    formulas: dict = {}
    checked = sum(check_equation(latex, truth, formulas) for latex in found)
    # forward quantities + gradients + updates, each with their substituted operands
    assert checked > 100


def _table(markdown: str, first_header: str, contains: str) -> list[list[str]]:
    lines = markdown.splitlines()
    for k, line in enumerate(lines):
        if line.startswith(f"| {first_header} |") and contains in line:
            rows = []
            for row in lines[k + 2:]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip("|").split("|")])
            return rows
    raise AssertionError(f"no table with {contains!r}")


def test_loss_table_and_best_rate(report):
    markdown, truth = report
    rows = _table(markdown, "learning rate", "initial E_total")
    assert [float(r[0]) for r in rows] == truth.rates
    finals = {r: truth.runs[r][-1]["E_total"] for r in truth.rates}
    for rate, row in zip(truth.rates, rows, strict=True):
        assert rounded(float(row[1]), truth.runs[rate][0]["E_total"], 10)
        assert rounded(float(row[2]), finals[rate], 10)
        assert (row[3] == "best") == (finals[rate] == min(finals.values()))
    best = min(finals, key=finals.get)
    sentence = markdown.split("## Best learning rate", 1)[1]
    named = f"Learning rate {best:g} is the best" if len(finals) > 1 else f"Only learning rate {best:g}"
    assert named in sentence


def test_numbers_in_the_prose(report):
    markdown, truth = report
    _, text = equations(markdown)
    known = set(truth.rates) | {float(truth.n)}
    known |= {truth.runs[r][-1]["E_total"] for r in truth.rates}
    prose = [line for line in text.splitlines()
             if line and not line.startswith(("|", "# ", "!["))]
    seen = 0
    for line in prose:
        line = re.sub(r"iteration [12]'s|iteration 2 starts", "", line)  # the step being shown
        line = re.sub(r"w\d|\.xlsx|\.ods", "", line)
        for token in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?:e-?\d+)?(?![\w])", line):
            value = float(token)
            assert any(rounded(value, k, 10) for k in known), (token, line)
            seen += 1
    assert seen >= 3  # at least the iteration count, the best rate and its final loss


def test_errata_section(report):
    markdown, truth = report
    if not truth.errata:
        assert "mistakes" not in markdown
        return
    rows = _table(markdown, "learning rate", "columns that differ")
    for rate, row in zip(truth.rates, rows, strict=True):
        wrong, right = truth.runs[rate], truth.correct[rate]
        assert rounded(float(row[1]), wrong[-1]["E_total"], 10)
        assert rounded(float(row[2]), right[-1]["E_total"], 10)
        names = [k for k in wrong[0] if not k.startswith("next_")
                 and not (k in ("b1", "b2") and truth.biases == "none")] + ["iteration"]
        differ = {k: [i + 1 for i, (a, b) in enumerate(zip(wrong, right, strict=True))
                      if not math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-15)]
                  for k in names if k != "iteration"}
        columns = sum(bool(v) for v in differ.values())
        assert row[3] == f"{columns} of {len(names)}"
        assert row[4] == str(min(v[0] for v in differ.values() if v))


def check_loss_table(config, markdown: str, runs) -> None:
    """The report's table of initial and final E_total per rate and its best-rate sentence,
    against `runs` (rate -> rows as dicts), to the 10 digits printed."""
    lines = markdown.splitlines()
    start = next(k for k, line in enumerate(lines) if line.startswith("| learning rate |"))
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[start + 2:]
            if line.startswith("|")]
    if config.data is None:
        curves = {r: [row["E_total"] for row in runs[r]] for r in config.learning_rates}
    else:  # a data set is judged per epoch: the mean (or sum) of E_total over each epoch's steps
        per = config.data.steps_per_epoch()
        combine = (lambda xs: sum(xs) / len(xs)) if config.data.reduction == "mean" else sum
        curves = {r: [combine([row["E_total"] for row in runs[r][k:k + per]])
                      for k in range(0, len(runs[r]), per)] for r in config.learning_rates}
    finals = {r: curve[-1] for r, curve in curves.items()}
    assert [float(r[0]) for r in rows] == list(config.learning_rates)
    for rate, row in zip(config.learning_rates, rows, strict=True):
        assert rounded(float(row[1]), curves[rate][0], 10)
        assert rounded(float(row[2]), finals[rate], 10)
        assert (row[3] == "best") == (finals[rate] == min(finals.values()))
    best = min(finals, key=finals.get)
    assert f"learning rate {best:g}" in markdown.split("## Best learning rate", 1)[1].lower()

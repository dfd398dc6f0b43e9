"""`sheetgen report` from the command line: what it writes, and bad input."""

from __future__ import annotations

import importlib
from pathlib import Path

import sheetgen
from sheetgen.cli import main


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_report_writes_markdown_page_and_images(tmp_path, capsys):
    assert main(["report", "--output-dir", str(tmp_path)]) == 0
    folder = tmp_path / "report"
    names = set(_files(folder))
    plots = ["loss_all", *(f"loss_lr_{r}" for r in ("0.1", "0.2", "0.5", "0.8", "1", "2"))]
    assert names == {"README.md", "index.html", "images/network.png",
                     *(f"images/BackPropagation_{p}.png" for p in plots)}
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(names) and all(line.startswith("wrote ") for line in out)
    markdown = (folder / "README.md").read_text("utf-8")
    # Images linked relatively, each one there; sections in the original write-up's order.
    for link in ("images/network.png", "images/BackPropagation_loss_lr_0.1.png",
                 "images/BackPropagation_loss_all.png"):
        assert f"]({link})" in markdown
    order = ["## The network", "## Forward pass", "with respect to w5, w6, w7 and w8",
             "with respect to w1, w2, w3 and w4", "## Weight update", "## Loss per learning rate",
             "## Best learning rate"]
    assert [markdown.index(h) for h in order] == sorted(markdown.index(h) for h in order)
    assert "mistakes" not in markdown
    assert not list(folder.rglob("*.part"))


def test_report_of_the_biased_example(tmp_path, capsys):
    config = tmp_path / "biased.toml"
    assert main(["init-config", "--example", "biased", "--output", str(config)]) == 0
    assert main(["report", "--config", str(config), "--output-dir", str(tmp_path / "out"),
                 "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {config}; run: sheetgen generate --config {config}"]
    markdown = (tmp_path / "out" / "report" / "README.md").read_text("utf-8")
    # The example's bias enters h1's formula, with its number; its first E_total as its comment says.
    h1 = r"h_{1} = w_{1} \cdot i_{1} + w_{2} \cdot i_{2} + b_{1} = 0.15 \times 0.05 + 0.2 \times 0.1 + 0.35"
    assert h1 in markdown
    assert "E_{\\text{total}} = E_{1} + E_{2} = 0.274811 + 0.02356 = 0.2983711088" in markdown


def test_bad_input_is_one_line_and_leaves_the_report_alone(tmp_path, capsys):
    assert main(["report", "--output-dir", str(tmp_path)]) == 0
    before = _files(tmp_path / "report")
    capsys.readouterr()
    assert main(["report", "--output-dir", str(tmp_path), "--iterations", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    config = tmp_path / "overflow.toml"
    config.write_text("inputs = { i1 = 1e300 }\nweights = { w1 = 0 }\nlearning_rates = [1000]\n", "utf-8")
    assert main(["report", "--config", str(config), "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a finite number" in err
    assert _files(tmp_path / "report") == before


def test_the_public_function_writes_the_same_report(tmp_path):
    importlib.import_module("sheetgen.report")  # the subpackage must not hide the function

    paths = sheetgen.write_report(output_dir=tmp_path / "api", learning_rates=[0.5, 2])
    cli = tmp_path / "cli"
    assert main(["report", "--quiet", "--output-dir", str(cli), "--learning-rates", "0.5,2"]) == 0
    assert sorted(paths) == sorted(p for p in (tmp_path / "api").rglob("*") if p.is_file())
    for name in ("README.md", "index.html"):
        assert (tmp_path / "api/report" / name).read_bytes() == (tmp_path / "cli/report" / name).read_bytes()


HOSTILE_NAME = "a#b%c?d <script>x<!--script> [click](javascript:alert(1)) $x$"


def test_a_basename_with_url_and_markup_characters_is_linked_and_shown_as_is(tmp_path):
    from html.parser import HTMLParser
    from urllib.parse import unquote

    config = tmp_path / "x.toml"
    config.write_text(f'basename = "{HOSTILE_NAME}"\nlearning_rates = [0.5]\niterations = 3\n', "utf-8")
    assert main(["report", "--config", str(config), "--output-dir", str(tmp_path), "--quiet"]) == 0
    folder = tmp_path / "report"
    sources: list[str] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag == "img":
                sources.append(dict(attrs)["src"])

    page = (folder / "index.html").read_text("utf-8")
    Images().feed(page)
    assert len(sources) >= 2 and all("#" not in s and "?" not in s and " " not in s for s in sources)
    assert all((folder / unquote(s)).is_file() for s in sources)  # each link reaches its image
    assert "<script>" not in page
    markdown = (folder / "README.md").read_text("utf-8")
    links = [line[line.index("](") + 2:-1] for line in markdown.splitlines() if line.startswith("![")]
    assert len(links) == len(sources) and all((folder / unquote(link)).is_file() for link in links)
    assert "<script>" not in markdown and "[click](" not in markdown and " $x$" not in markdown
    assert r"\<script\>" in markdown and r"\$x\$" in markdown

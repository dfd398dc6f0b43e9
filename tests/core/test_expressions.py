"""`rendered_length`: a formula's length counted without writing it (core/expressions.py)."""

from __future__ import annotations

import ast
import time

import pytest

from sheetgen.config import example_text, from_mapping
from sheetgen.core.cells import ref
from sheetgen.core.expressions import Expression, rendered_length
from sheetgen.core.network import spanner


@pytest.mark.parametrize("example", ["deep", "softmax", "xor", "linear-adam", "conv-edge", "rnn-sum"])
def test_rendered_length_is_the_rendered_texts_length(example):
    import tomllib

    training = from_mapping(tomllib.loads(example_text(example)) | {"plots": False}).training()
    column_of = {c.quantity: j for j, c in enumerate(training.columns)}
    span = spanner(column_of, "xlsx", "{r}")

    def reference(name: str) -> str:
        return ref("xlsx", column_of[name], "{r}") if name in column_of else f"params!{name.upper()}"

    checked = 0
    for q in training.network.quantities:
        for expression in (q.formula, q.next):
            for separator in (",", ";"):
                if expression is not None:
                    text = expression.to_formula(reference, separator, span)
                    assert rendered_length(expression.tree, reference, separator, span) == len(text), text
                    checked += 1
    assert checked > 20


def test_a_shared_subtree_is_counted_once():
    # Each level reads the one below twice: 2^40 leaves, a text of terabytes, counted at once.
    tree = ast.parse("x", mode="eval").body
    for _ in range(40):
        tree = ast.BinOp(ast.Call(ast.Name("sigmoid"), [tree], []), ast.Sub(), tree)
    small = tree
    for _ in range(36):
        small = small.left.args[0]
    text = Expression.parse(ast.unparse(small)).to_formula(str.upper)
    assert rendered_length(small, str.upper) == len(text)
    started = time.process_time()
    length = rendered_length(tree, str.upper)
    assert time.process_time() - started < 0.5
    assert length > 2 ** 40  # what writing it out would have cost

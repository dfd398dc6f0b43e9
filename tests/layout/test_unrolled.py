"""The picture of a recurrent network, unrolled over time."""

from __future__ import annotations

from sheetgen.core.recurrent import RecurrentSpec
from sheetgen.layout.unrolled import drawn_steps, step_labels, unrolled_picture


def test_every_step_drawn_up_to_six_then_a_gap():
    assert drawn_steps(4) == [1, 2, 3, 4]
    assert drawn_steps(9) == [1, 2, 3, None, 8, 9]


def test_many_to_one_has_one_output_and_many_to_many_one_per_step():
    last = unrolled_picture(RecurrentSpec(cell="lstm", hidden=(2,), steps=5), (0, 1))
    names = [n.name for n in last.nodes]
    assert names.count("o") == 1 and "lstm_t5" in names and "x_t1" in names and "h,c_t0" in names
    every = unrolled_picture(RecurrentSpec(cell="gru", hidden=(2, 2), steps=3, output="every"), (0, 1))
    names = [n.name for n in every.nodes]
    assert [n for n in names if n.startswith("o_t")] == ["o_t1", "o_t2", "o_t3"]
    assert {"gru1_t2", "gru2_t2", "h1_t0", "h2_t0"} <= set(names)
    # each layer's states in a row, joined step to step; every node inside the picture
    assert all(0 < n.x < every.width and 0 < n.y < every.height for n in every.nodes)


def test_step_labels_cover_side_by_side_columns_of_one_step():
    names = ["w1", "h_t0_1", "x1_t1", "zh_t1_1", "h_t1_1", "zh_t2_1", "h_t2_1_s2", "E1", "delta_zh_t2_1"]
    assert step_labels(names) == [(1, 1, "t = 0"), (2, 3, "t = 1"), (5, 1, "t = 2"), (6, 1, "t = 2, s2"),
                                  (8, 1, "t = 2")]


def test_the_picture_fits_the_block_above_the_header_however_many_layers():
    """At most PICTURE_MAX_MM tall, so the header stays at row 16; each label clear of every node
    and every other line."""
    from sheetgen.layout.picture import boxes_overlap, label_box, node_box, segment_hits_box
    from sheetgen.layout.upper import PICTURE_MAX_MM

    for cell in ("rnn", "lstm", "gru"):
        for hidden in ((2,), (2, 3), (1, 1, 1)):
            for output in ("last", "every"):
                p = unrolled_picture(RecurrentSpec(cell=cell, hidden=hidden, steps=9, output=output), (0, 1))
                assert p.height <= PICTURE_MAX_MM, (cell, hidden, output)
                assert all(n.x + n.width / 2 <= p.width and n.y + n.height / 2 <= p.height for n in p.nodes)
                for k, e in enumerate(p.edges):
                    if not e.label:
                        continue
                    box = label_box(e.label, e.label_x, e.label_y)
                    assert not any(boxes_overlap(box, node_box(n)) for n in p.nodes), e.label
                    assert not any(segment_hits_box(o.x1, o.y1, o.x2, o.y2, box)
                                   for j, o in enumerate(p.edges) if j != k), e.label
    one = unrolled_picture(RecurrentSpec(cell="lstm", hidden=(2,), steps=5), (0, 1))
    assert {e.label for e in one.edges} >= {"Wx", "Wh", "w"}    # a single layer's labels all fit

"""Header rules: a corpus generated from the rules (spellings that must read as their quantity)
and near misses that must read as nothing, for the 2-2-2 network's names."""

from __future__ import annotations

import itertools

import pytest

from sheetgen.core.presets import reference_network as network
from sheetgen.read.tables import canonical_name

NAMES = tuple(dict.fromkeys(network("none").names + network("trained").names))
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

TOTAL = ["E", "E_total", "Etotal", "E_tot", "ET", "E_t", "Error", "Loss", "total error", "E_Total"]
GRADIENT_FORMS = ["∂{e}/∂{x}", "d{e}/d{x}", "{e}∂{x}", "d{e}_d{x}", "∂({e})/∂({x})", "d{e}/d{X}",
                  "(∂{e}/∂{x})", "{E}∂{X}", "∂{e}/∂{sub}", "D{E}/D{X}"]


def gradient_spellings():
    params = [n.removeprefix("dE_d") for n in NAMES if n.startswith("dE_d")]
    # Every form and every spelling of the error, cycled over the parameters.
    for k, (form, e) in enumerate(itertools.product(GRADIENT_FORMS, TOTAL)):
        x = params[k % len(params)]
        yield form.format(e=e, E=e.upper(), x=x, X=x.upper(), sub=x.translate(SUBSCRIPT)), f"dE_d{x}"
    for x in params:
        yield f"grad {x}", f"dE_d{x}"
        yield f"∇{x}", f"dE_d{x}"


def activation_spellings():
    for n in ("h1", "h2", "o1", "o2"):
        for form in ("a_{n}", "a{n}", "out_{n}", "Out {n}", "σ({n})", "sigmoid({n})", "A_{N}",
                     "σ({N})", "output_{n}", "a_{sub}"):
            yield form.format(n=n, N=n.upper(), sub=n.translate(SUBSCRIPT)), f"a_{n}"
        yield f"net_{n}", n
        yield f"net {n.upper()}", n


def remark_spellings():
    remarks = ["{q} (target for o1)", "{q}: hidden to output", "{q} – hidden to output",
               "{q} - initial value", "{q} [given]", "{q} — from the row above"]
    for k, q in enumerate(("t1", "t2", "i1", "i2", "w1", "w5", "w8", "E_total", "a_h1", "h2", "E1",
                           "dE_dw3")):
        yield remarks[k % len(remarks)].format(q=q), q


def total_spellings():
    for e in TOTAL:
        yield e, "E_total"
    yield "Total Error", "E_total"
    yield "E₁", "E1"
    yield "Error 2", "E2"
    yield "E_o1", "E1"


CORPUS = sorted(set(itertools.chain(gradient_spellings(), activation_spellings(), remark_spellings(),
                                    total_spellings())))

NEAR_MISSES = [
    "w10", "w0", "w9", "t3", "i3", "h3", "o3", "a_h3", "E3", "dE/dw9", "∂E/∂w10", "Δw1", "Δ w5",
    "t1 − a_o1", "t1 - a_o1", "a_o1 − t1", "w1*i1", "w1 + w2", "∂E/∂a_h1", "∂E/∂o1", "dE/da_o2",
    "δ_o1", "δh1", "w1w2", "E∂", "sigmoid", "σ", "learning rate", "h1 + b1", "t1 − a_o1 (error)",
    "w1 - w2", "2*w1", "E1 + E2", "∂E_total/∂W5 = ∂E1/∂W5", "notes", "",
]


def test_the_corpus_is_large_enough():
    assert len(CORPUS) >= 80 and len(NEAR_MISSES) >= 20


@pytest.mark.parametrize(("header", "quantity"), CORPUS)
def test_a_spelling_reads_as_its_quantity(header, quantity):
    assert canonical_name(header, NAMES) == quantity


@pytest.mark.parametrize("header", NEAR_MISSES)
def test_a_near_miss_reads_as_nothing(header):
    assert canonical_name(header, NAMES) is None


def test_a_name_the_network_gains_is_read_by_its_kind():
    """A third output and a δ column: the rules come from the names, not a list."""
    names = NAMES + ("o3", "a_o3", "t3", "w9", "dE_dw9", "delta_o1")
    assert canonical_name("σ(o3)", names) == "a_o3"
    assert canonical_name("∂E_total/∂w9", names) == "dE_dw9"
    assert canonical_name("target 3", names) == "t3"
    assert canonical_name("delta_o1", names) == "delta_o1"
    assert canonical_name("σ(o3)", NAMES) is None


# Spellings read in any network sheetgen writes (no network named): a gradient with δ, ∂, d or
# ∇ for the derivative, a neuron's δ, and the columns of image and recurrent networks. Δ is a
# change (Δw1 = −η·∂E/∂w1 in many courses), not a derivative: it stays unread.
GENERAL_SPELLINGS = [
    ("δo1", "delta_o1"), ("δ o1", "delta_o1"), ("delta o1", "delta_o1"), ("Delta_h1", "delta_h1"),
    ("δ_h2_1", "delta_h2_1"), ("δw9", "dE_dw9"), ("∂E/∂w9", "dE_dw9"), ("dE_total/dw10", "dE_dw10"),
    ("δE_total/δW9", "dE_dw9"), ("∇E(w9)", "dE_dw9"), ("∇w9", "dE_dw9"), ("grad b3", "dE_db3"),
    ("δE/δWxh_1_1", "dE_dWxh_1_1"), ("E∂k1_r1c2", "dE_dk1_r1c2"), ("E∂b_c1", "dE_db_c1"),
    ("E∂bxn_2", "dE_dbxn_2"), ("k2_r3c1", "k2_r3c1"), ("a_c1_2_3_s4", "a_c1_2_3_s4"),
    ("δ_p2_1_1", "delta_p2_1_1"), ("i1_8_8", "i1_8_8"), ("Whf_2_1", "Whf_2_1"),
    ("h_t0_2", "h_t0_2"), ("zf_t3_1_s2", "zf_t3_1_s2"), ("δ_c_t5_1_s1", "delta_c_t5_1_s1"),
    ("x1_t2_s1", "x1_t2_s1"), ("y1_t6_s3", "y1_t6_s3"), ("a_o1_t2_s1", "a_o1_t2_s1"),
    ("m_Whf_1_1", "m_Whf_1_1"), ("s_bh_2", "s_bh_2"),
    ("h (grad. check)", "h"), ("h (gradient check)", "h"),   # the label now and before
    ("Δw1", None), ("Δ w9", None), ("ΔWxh_1_1", None),
]


@pytest.mark.parametrize(("header", "quantity"), GENERAL_SPELLINGS)
def test_a_general_spelling_reads_as_its_quantity(header, quantity):
    assert canonical_name(header) == quantity


def test_a_gradient_of_a_parameter_with_underscores_is_read_with_its_network():
    names = ("k1_r1c2", "dE_dk1_r1c2", "Wxh_1_1", "dE_dWxh_1_1")
    assert canonical_name("∂E/∂k1_r1c2", names) == "dE_dk1_r1c2"
    assert canonical_name("dE_total/dWxh_1_1", names) == "dE_dWxh_1_1"

"""The `maps` sheet of an image network: its 2-D quantities as blocks of cells with a live colour
scale, at an iteration (and, when a step takes several samples, a sample) the student types in.

Every cell is a live formula, INDEX into the first learning rate's table (CHOOSE among the
step's sample columns when it has several), so the blocks follow the typed iteration and any
edit of the sheets. From the top: the input image's channels; then per map its kernels, its
pre-activation c and activation a_c and, after a pooling layer, its pooled map p; under them
the gradients: the kernels' E∂k, δ_c and δ_p.
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.cells import column_letter, quote_sheet
from sheetgen.core.conv import Conv2dLayer, ConvSpec, PoolLayer
from sheetgen.layout.book import Cell, Sheet
from sheetgen.layout.summary import FormulaCell

MAPS_SHEET = "maps"
ITERATION_CELL = (2, 2)       # C3: the iteration shown
SAMPLE_CELL = (3, 2)          # C4: the step's sample slot shown, when a step has several
MAX_SLOTS = 64                # CHOOSE among at most this many sample columns (else slot 1)
TOP = 6                       # 0-based row of the first block's title


@dataclass(frozen=True)
class Block:
    """A 2-D block: its title cell at (row, col), its values below from (row + 1, col)."""

    title: str
    row: int
    col: int
    names: tuple[tuple[str, ...], ...]     # quantity names, rows of columns
    scale: str                             # "gray" (smallest white … largest grey) | "signed"

    @property
    def last_row(self) -> int:
        return self.row + len(self.names)

    @property
    def last_col(self) -> int:
        return self.col + len(self.names[0]) - 1


@dataclass
class Maps:
    name: str
    cells: list[Cell]
    formulas: list[FormulaCell]
    blocks: list[Block]
    n_columns: int
    n_rows: int
    column_width: int = 7
    number_format: str = "0.00"
    inputs: tuple[tuple[int, int], ...] = ()     # cells the student types into
    print_ranges: tuple[tuple[int, int, int, int], ...] = ()


def _sections(spec: ConvSpec, per_sample: bool) -> list[list[tuple[str, list[list[str]], str]]]:
    """Rows of blocks, (title, names, scale) each, top to bottom."""
    del per_sample
    sections = [[(f"input channel {c + 1}", plane, "gray")
                 for c, plane in enumerate(spec.image_names(0))]]
    for n, layer in enumerate(spec.layers):
        if not isinstance(layer, Conv2dLayer):
            continue
        pooled = n + 1 < len(spec.layers) and isinstance(spec.layers[n + 1], PoolLayer)
        kernels = spec.kernel_names(n)
        pre = spec.pre_names(n)
        first = spec.first_map(n)
        for m, plane in enumerate(pre):
            number = first + m
            channels = len(kernels[m])
            forward, backward = [], []
            for c, kernel in enumerate(kernels[m]):
                tag = f"k{number}" + (f" over channel {c + 1}" if channels > 1 else "")
                forward.append((tag, kernel, "signed"))
                backward.append((f"E∂{tag}", [["dE_d" + k for k in row] for row in kernel], "signed"))
            forward.append((f"c{number}, before {layer.activation}" if layer.activation != "identity"
                            else f"c{number}", plane, "signed"))
            if layer.activation != "identity":
                forward.append((f"a_c{number}, after {layer.activation}",
                                [["a_" + z for z in row] for row in plane], "gray"))
            backward.append((f"δ_c{number}", [["delta_" + z for z in row] for row in plane], "signed"))
            if pooled:
                pool = spec.image_names(n + 1)[m]
                forward.append((f"p{number}, {spec.layers[n + 1].kind}", pool, "gray"))
                backward.append((f"δ_p{number}", [["delta_" + p for p in row] for row in pool], "signed"))
            sections.append(forward)
            sections.append(backward)
    return sections


def build_maps(spec: ConvSpec, sheet: Sheet, batch: int, iteration: int = 1, sample: int = 1) -> Maps:
    """The maps sheet over `sheet` (the first learning rate's), opening at `iteration` and the
    step's `sample` slot (its typed cells and cached values)."""
    column_of = {c.quantity: c.index for c in sheet.columns}
    first, last = sheet.first_row + 1, sheet.first_row + sheet.iterations   # 1-based rows
    slots = batch if batch <= MAX_SLOTS else 1
    shown = sheet.trace.row(iteration - 1)
    iteration_ref = {"xlsx": f"$C${ITERATION_CELL[0] + 1}", "ods": f"[.$C${ITERATION_CELL[0] + 1}]"}
    slot = {"xlsx": f"$C${SAMPLE_CELL[0] + 1}", "ods": f"[.$C${SAMPLE_CELL[0] + 1}]"}
    name = quote_sheet(sheet.name)

    def index(quantity: str) -> dict[str, str]:
        letter = column_letter(column_of[quantity])
        return {"xlsx": f"INDEX({name}!${letter}${first}:${letter}${last},{iteration_ref['xlsx']})",
                "ods": f"INDEX([${name}.${letter}${first}:.${letter}${last}];{iteration_ref['ods']})"}

    def formula(quantity: str) -> tuple[dict[str, str], float]:
        if quantity in column_of:
            return index(quantity), shown[quantity]
        options = [f"{quantity}_s{j}" for j in range(1, slots + 1)]
        if slots == 1:
            return index(options[0]), shown[options[0]]
        parts = [index(o) for o in options]
        return ({"xlsx": f"CHOOSE({slot['xlsx']},{','.join(p['xlsx'] for p in parts)})",
                 "ods": f"CHOOSE({slot['ods']};{';'.join(p['ods'] for p in parts)})"},
                shown[options[sample - 1]])

    cells = [Cell(0, 0, f"Maps of sheet {sheet.name} at the iteration typed in C3"
                        + (" and the sample slot in C4" if slots > 1 else ""), "label"),
             Cell(ITERATION_CELL[0], 0, "iteration", "label"),
             Cell(ITERATION_CELL[0], ITERATION_CELL[1], iteration, "parameter"),
             Cell(ITERATION_CELL[0], 4, f"1 … {sheet.iterations:,}", "text")]
    inputs = [ITERATION_CELL]
    if slots > 1:
        cells += [Cell(SAMPLE_CELL[0], 0, "sample slot", "label"),
                  Cell(SAMPLE_CELL[0], SAMPLE_CELL[1], sample, "parameter"),
                  Cell(SAMPLE_CELL[0], 4, f"1 … {slots} (s1 … s{slots} of the step)", "text")]
        inputs.append(SAMPLE_CELL)
    blocks: list[Block] = []
    formulas: list[FormulaCell] = []
    row = TOP
    width = 0
    for section in _sections(spec, slots > 1):
        col = 0
        height = 0
        for title, names, scale in section:
            block = Block(title, row, col, tuple(tuple(r) for r in names), scale)
            blocks.append(block)
            cells.append(Cell(row, col, title, "label"))
            for i, line in enumerate(block.names):
                for j, quantity in enumerate(line):
                    text, value = formula(quantity)
                    formulas.append(FormulaCell(row + 1 + i, col + j, text, value, "map"))
            col = block.last_col + 2
            height = max(height, len(block.names))
        width = max(width, col)
        row += height + 2
    cells.sort(key=lambda c: (c.row, c.col))
    formulas.sort(key=lambda f: (f.row, f.col))
    n_columns = max(width, 8)
    return Maps(MAPS_SHEET, cells, formulas, blocks, n_columns, row, inputs=tuple(inputs),
                print_ranges=((0, 0, row - 1, n_columns - 1),))

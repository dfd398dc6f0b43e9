"""The `maps` sheet of an image network: its 2-D quantities as blocks of cells with a live colour
scale, at an iteration (and, when a step takes several samples, a sample) the student types in.

Every cell is a live formula, INDEX into a learning-rate sheet's table: CHOOSE among the rate
sheets by the number typed in C2 (the chosen sheet's rate shown live beside it), and among the
step's sample columns when it has several, so the blocks follow the typed rate sheet and
iteration and any edit of the sheets. From the top: the input image's channels; then per map its kernels, its
pre-activation c and activation a_c and, after a pooling layer, its pooled map p; under them
the gradients: the kernels' E∂k, δ_c and δ_p.
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetgen.core.cells import column_letter, parse_cell, quote_sheet, sheet_ref
from sheetgen.core.conv import Conv2dLayer, ConvSpec, PoolLayer
from sheetgen.core.template import format_rate
from sheetgen.layout.book import Cell, Sheet
from sheetgen.layout.charts import as_typed
from sheetgen.layout.network_layout import LEARNING_RATE_CELL
from sheetgen.layout.summary import FormulaCell

MAPS_SHEET = "maps"
RATE_CELL = (1, 2)            # C2: the learning-rate sheet shown, 1 … its number of sheets
ITERATION_CELL = (2, 2)       # C3: the iteration shown
SAMPLE_CELL = (3, 2)          # C4: the step's sample slot shown, when a step has several
# A map cell CHOOSEs among (rate sheets x sample slots) INDEX formulas of about 45 characters:
# at most this many keep it far below 8,192 characters; beyond, sample slot 1 only.
MAX_CHOICES = 64
MAX_SLOTS = MAX_CHOICES
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


def build_maps(spec: ConvSpec, sheets: list[Sheet] | Sheet, batch: int, iteration: int = 1,
               sample: int = 1, rate: int = 1) -> Maps:
    """The maps sheet over the learning-rate `sheets` (one sheet: that one only), opening at the
    `rate`-th sheet, `iteration` and the step's `sample` slot (its typed cells and cached values)."""
    sheets = [sheets] if isinstance(sheets, Sheet) else list(sheets[:MAX_CHOICES])
    sheet = sheets[0]
    column_of = {c.quantity: c.index for c in sheet.columns}
    first, last = sheet.first_row + 1, sheet.first_row + sheet.iterations   # 1-based rows
    slots = batch if batch * len(sheets) <= MAX_CHOICES else 1
    shown = sheets[rate - 1].trace.row(iteration - 1)

    def absolute(cell: tuple[int, int]) -> dict[str, str]:
        return {"xlsx": f"$C${cell[0] + 1}", "ods": f"[.$C${cell[0] + 1}]"}

    iteration_ref, slot, chosen = absolute(ITERATION_CELL), absolute(SAMPLE_CELL), absolute(RATE_CELL)

    def choose(choice: dict[str, str], parts: list[dict[str, str]]) -> dict[str, str]:
        if len(parts) == 1:
            return parts[0]
        return {"xlsx": f"CHOOSE({choice['xlsx']},{','.join(p['xlsx'] for p in parts)})",
                "ods": f"CHOOSE({choice['ods']};{';'.join(p['ods'] for p in parts)})"}

    def index(quantity: str, at: Sheet) -> dict[str, str]:
        letter = column_letter(column_of[quantity])
        name = quote_sheet(at.name)
        return {"xlsx": f"INDEX({name}!${letter}${first}:${letter}${last},{iteration_ref['xlsx']})",
                "ods": f"INDEX([${name}.${letter}${first}:.${letter}${last}];{iteration_ref['ods']})"}

    def formula(quantity: str) -> tuple[dict[str, str], float]:
        if quantity in column_of:
            options, value = [quantity], shown[quantity]
        else:
            options = [f"{quantity}_s{j}" for j in range(1, slots + 1)]
            value = shown[options[sample - 1 if slots > 1 else 0]]
        return choose(slot, [choose(chosen, [index(o, at) for at in sheets]) for o in options]), value

    s_label = "the learning-rate sheet chosen in C2" if len(sheets) > 1 else f"sheet {sheet.name}"
    cells = [Cell(0, 0, f"Maps of {s_label} at the iteration typed in C3"
                        + (" and the sample slot in C4" if slots > 1 else ""), "label"),
             Cell(ITERATION_CELL[0], 0, "iteration", "label"),
             Cell(ITERATION_CELL[0], ITERATION_CELL[1], iteration, "parameter"),
             Cell(ITERATION_CELL[0], 4, f"1 … {sheet.iterations:,}", "text")]
    inputs = [ITERATION_CELL]
    formulas: list[FormulaCell] = []
    if len(sheets) > 1:
        # The chosen sheet's rate as it now reads (an edited rate shows), live; the sheets in
        # tab order beside it.
        rate_at = parse_cell(LEARNING_RATE_CELL)
        names = []
        for at in sheets:
            source = sheet_ref(at.name, *rate_at)
            names.append({d: f'"learning rate "&{as_typed(source[d], d)}' for d in source})
        cells += [Cell(RATE_CELL[0], 0, "rate sheet", "label"),
                  Cell(RATE_CELL[0], RATE_CELL[1], rate, "parameter"),
                  Cell(RATE_CELL[0], 8, f"1 … {len(sheets)}: " + ", ".join(at.name for at in sheets),
                       "text")]
        formulas.append(FormulaCell(RATE_CELL[0], 4, choose(chosen, names),
                                    f"learning rate {format_rate(sheets[rate - 1].learning_rate)}", "text"))
        inputs.insert(0, RATE_CELL)
    if slots > 1:
        cells += [Cell(SAMPLE_CELL[0], 0, "sample slot", "label"),
                  Cell(SAMPLE_CELL[0], SAMPLE_CELL[1], sample, "parameter"),
                  Cell(SAMPLE_CELL[0], 4, f"1 … {slots} (s1 … s{slots} of the step)", "text")]
        inputs.append(SAMPLE_CELL)
    blocks: list[Block] = []
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

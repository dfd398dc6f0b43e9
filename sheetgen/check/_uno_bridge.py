"""Recalculate one workbook in a running LibreOffice and print its formula cells as JSON.

Run by sheetgen.check.verify with a Python that can `import uno` (Debian: python3-uno for the
system Python), as a separate process: the project's own Python usually cannot import uno.
It imports nothing from sheetgen. Usage: _uno_bridge.py PIPE_NAME FILE CONNECT_SECONDS

Output, one JSON object on stdout:
  {"version": "7.4.7.2", "sheets": [{"name": ..., "blocks": [...], "errors": [...]}]}
each block a rectangle of formula cells: {"row": 0-based top, "col": 0-based left,
"values": [[float|str|null]], "formulas": [[str]]}; each error [row, col, text] (e.g. "#NUM!").
Floats are written by json (repr), so every double reads back exactly.
"""

import json
import math
import os
import sys
import time

import uno
from com.sun.star.connection import NoConnectException

FORMULA = 16        # com.sun.star.sheet.CellFlags.FORMULA
RESULT_ERROR = 4    # com.sun.star.sheet.FormulaResult.ERROR
NEVER_EXECUTE = 0   # com.sun.star.document.MacroExecMode: a file's macros never run
NO_UPDATE = 0       # com.sun.star.document.UpdateDocMode: external links are not fetched


def prop(name, value):
    p = uno.createUnoStruct("com.sun.star.beans.PropertyValue")
    p.Name, p.Value = name, value
    return p


def connect(pipe, seconds):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + seconds
    while True:
        try:
            return resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        except NoConnectException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def product_version(ctx):
    provider = ctx.ServiceManager.createInstanceWithContext(
        "com.sun.star.configuration.ConfigurationProvider", ctx)
    access = provider.createInstanceWithArguments(
        "com.sun.star.configuration.ConfigurationAccess",
        (prop("nodepath", "/org.openoffice.Setup/Product"),))
    return access.getByName("ooSetupVersionAboutBox")


def calculate_in_one_thread(ctx):
    """Formula groups calculated in one thread (this run's own profile only): LibreOffice 7.4's
    threaded group calculation, under load, turns a hard recalculation of a long chain of rows
    (rnn-sum at 100 rows) into Err:522, a different number of cells each time; editing a cell,
    which recalculates only what depends on it, does not."""
    provider = ctx.ServiceManager.createInstanceWithContext(
        "com.sun.star.configuration.ConfigurationProvider", ctx)
    update = provider.createInstanceWithArguments(
        "com.sun.star.configuration.ConfigurationUpdateAccess",
        (prop("nodepath", "/org.openoffice.Office.Calc/Formula/Calculation"),))
    update.setPropertyValue("UseThreadedCalculationForFormulaGroups", False)
    update.commitChanges()


def dump_sheet(sheet):
    blocks, errors = [], []
    ranges = sheet.queryContentCells(FORMULA)
    for address in ranges.getRangeAddresses():
        block = sheet.getCellRangeByPosition(
            address.StartColumn, address.StartRow, address.EndColumn, address.EndRow)
        values = [[v if isinstance(v, str) or isinstance(v, float) and math.isfinite(v) else None
                   for v in row] for row in block.getDataArray()]
        blocks.append({"row": address.StartRow, "col": address.StartColumn,
                       "values": values, "formulas": [list(r) for r in block.getFormulaArray()]})
    # Error results are rare: find them in one query, then read each one's text.
    for address in ranges.queryFormulaCells(RESULT_ERROR).getRangeAddresses():
        for row in range(address.StartRow, address.EndRow + 1):
            for col in range(address.StartColumn, address.EndColumn + 1):
                errors.append([row, col, sheet.getCellByPosition(col, row).getString()])
    return {"name": sheet.getName(), "blocks": blocks, "errors": errors}


def main():
    pipe, path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    ctx = connect(pipe, seconds)
    calculate_in_one_thread(ctx)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
    doc = desktop.loadComponentFromURL(
        uno.systemPathToFileUrl(path), "_blank", 0,
        (prop("Hidden", True), prop("ReadOnly", True),
         prop("MacroExecutionMode", NEVER_EXECUTE), prop("UpdateDocMode", NO_UPDATE)))
    if doc is None or not hasattr(doc, "calculateAll"):
        print(f"LibreOffice could not open {path} as a spreadsheet", file=sys.stderr)
        return 3
    try:
        doc.calculateAll()  # a hard recalculation: every formula cell, cached values ignored
        sheets = doc.getSheets()
        result = {"version": product_version(ctx),
                  "sheets": [dump_sheet(sheets.getByIndex(i)) for i in range(sheets.getCount())]}
    finally:
        doc.close(True)
    sys.stdout.write(json.dumps(result, allow_nan=False))  # dumps: its C encoder is much faster
    sys.stdout.flush()
    try:
        desktop.terminate()
    except Exception:  # noqa: BLE001 - the connection drops as LibreOffice exits
        pass
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # No interpreter shutdown: tearing down UNO proxies whose LibreOffice has just quit can crash
    # the process (a signal, no message) after its output is complete.
    os._exit(status)

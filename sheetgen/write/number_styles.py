"""Excel-style number format codes as OpenDocument data styles, read the same way by LibreOffice
and Gnumeric.

Handles the codes sheetgen uses: "General", "0", "0.0##", "0.0##E+00", a literal "-" before the
digits, and up to two conditional sections ("[>=0.001]0.#########;[<=-0.001]-0.#########;General").
A conditional code becomes one style per section: the last (unconditional) section is the style
itself and the others are applied through `style:map` conditions, which is how both applications
write such codes. "General" is a `number:number` without decimal places: both read it as their own
General format.

Optional decimals ("0.0##": up to 3, at least 1) have no form Gnumeric reads: it takes
number:decimal-places as a fixed count and ignores number:min-decimal-places, padding 0.15 to
0.150000000. So their maximum goes in `MAX_DECIMALS`, the datastyle namespace of ODF version
1.3: LibreOffice reads every urn:oasis:names:tc:opendocument:xmlns:…:1.x as 1.0 (0.15, 0.123456789
as the code says), Gnumeric only 1.0, so it sees no decimal places and shows its General format,
as many digits as the column holds with no padding (0.15, 0.1234567890).
The conditions' `style:map` go in the style namespace of version 1.3 likewise: Gnumeric, which
would draw a "-" literal and its General of the magnitude wider than the column ("####"), sees
only the last section, its General, signed and as wide as the column.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

MAX_DECIMALS = "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.3"
CONDITIONS = "urn:oasis:names:tc:opendocument:xmlns:style:1.3"
NAMESPACE = f'xmlns:number13="{MAX_DECIMALS}" xmlns:style13="{CONDITIONS}"'   # for the root element
_CONDITION = re.compile(r"^\[(<=|>=|<|>|=|<>)(-?[0-9.]+)\]")


def _body(code: str) -> str:
    """The elements of one unconditional section."""
    text = ""
    if code.startswith("-"):
        text, code = "<number:text>-</number:text>", code[1:]
    if code == "General":
        return text + '<number:number number:min-integer-digits="1"/>'
    mantissa = code.split("E")[0]
    decimals = mantissa.split(".")[1] if "." in mantissa else ""
    places = (f'number:decimal-places="{len(decimals)}" '
              f'number:min-decimal-places="{decimals.count("0")}" number:min-integer-digits="1"')
    if "E" in code:
        return text + f'<number:scientific-number {places} number:min-exponent-digits="2"/>'
    if "#" in decimals:
        places = places.replace("number:decimal-places", "number13:decimal-places")
    return text + f"<number:number {places}/>"


def number_style(name: str, code: str) -> str:
    """The `<number:number-style>` element(s) for `code`, the main one named `name`."""
    sections = code.split(";")
    if len(sections) == 1:
        return f'<number:number-style style:name="{name}">{_body(code)}</number:number-style>'
    parts, maps = [], []
    for k, section in enumerate(sections[:-1]):
        match = _CONDITION.match(section)
        if match is None:
            raise ValueError(f"only conditional sections are supported before the last: {code!r}")
        op, value = match.groups()
        op = "!=" if op == "<>" else op
        sub = f"{name}P{k}"
        parts.append(f'<number:number-style style:name="{sub}" style:volatile="true">'
                     f"{_body(section[match.end():])}</number:number-style>")
        maps.append(f'<style13:map style13:condition="{escape(f"value(){op}{value}")}" '
                    f'style13:apply-style-name="{sub}"/>')
    parts.append(f'<number:number-style style:name="{name}">{_body(sections[-1])}'
                 f"{''.join(maps)}</number:number-style>")
    return "".join(parts)

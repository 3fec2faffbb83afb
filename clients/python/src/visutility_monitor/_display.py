"""Received text made safe to show to a person, as lib/core/display-text.ts does it.

The reasons this package writes must read exactly like the ingest Lambda's (a shared case file holds
them equal), so JavaScript's string semantics are reproduced where they show: JSON.stringify's
escapes, UTF-16 lengths and slices, and Number's text form.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from decimal import Decimal

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties): not in unicodedata.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Zs", "Co", "Cs", "Cn"})
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")

# Names of the format characters producers are likely to send (lib/core/display-text.ts).
_FORMAT_CHARACTER_NAMES = {
    173: "SOFT HYPHEN",
    1564: "ARABIC LETTER MARK",
    6158: "MONGOLIAN VOWEL SEPARATOR",
    8203: "ZERO WIDTH SPACE",
    8204: "ZERO WIDTH NON-JOINER",
    8205: "ZERO WIDTH JOINER",
    8206: "LEFT-TO-RIGHT MARK",
    8207: "RIGHT-TO-LEFT MARK",
    8234: "LEFT-TO-RIGHT EMBEDDING",
    8235: "RIGHT-TO-LEFT EMBEDDING",
    8236: "POP DIRECTIONAL FORMATTING",
    8237: "LEFT-TO-RIGHT OVERRIDE",
    8238: "RIGHT-TO-LEFT OVERRIDE",
    8288: "WORD JOINER",
    8289: "FUNCTION APPLICATION",
    8290: "INVISIBLE TIMES",
    8291: "INVISIBLE SEPARATOR",
    8292: "INVISIBLE PLUS",
    8294: "LEFT-TO-RIGHT ISOLATE",
    8295: "RIGHT-TO-LEFT ISOLATE",
    8296: "FIRST STRONG ISOLATE",
    8297: "POP DIRECTIONAL ISOLATE",
    65279: "ZERO WIDTH NO-BREAK SPACE",
    917505: "LANGUAGE TAG",
}

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def is_format_character(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"


def _display_unsafe(ch: str) -> bool:
    if ch == " ":
        return False
    if unicodedata.category(ch) in _UNSAFE_CATEGORIES:
        return True
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _DEFAULT_IGNORABLE)


def code_point_escape(cp: int) -> str:
    """``\\uXXXX`` for the BMP (as JSON writes it), ``\\u{X...}`` beyond it."""
    return f"\\u{{{cp:x}}}" if cp > 0xFFFF else f"\\u{cp:04x}"


def escape_for_display(text: str) -> str:
    """``text`` with every invisible or look-alike code point shown as an escape."""
    if _PRINTABLE_ASCII.fullmatch(text):
        return text
    return "".join(code_point_escape(ord(c)) if _display_unsafe(c) else c for c in text)


def describe_code_point(cp: int) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``; an unnamed format character is named by its category."""
    name = _FORMAT_CHARACTER_NAMES.get(cp)
    if name is None and 0xE0020 <= cp <= 0xE007F:
        name = "TAG CHARACTER"
    if name is None and is_format_character(chr(cp)):
        name = "FORMAT CHARACTER"
    hex_digits = f"{cp:04X}"
    return f"U+{hex_digits} ({name})" if name else f"U+{hex_digits}"


def js_string_json(text: str) -> str:
    """JSON.stringify of a string: Python's escapes, plus lone surrogates as ``\\udxxx``."""
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(text, ensure_ascii=False))


def utf16_slice(text: str, units: int) -> str:
    """``text.slice(0, units)`` in JavaScript: counted in UTF-16 code units, may end in half a pair."""
    return text.encode("utf-16-le", "surrogatepass")[: 2 * units].decode("utf-16-le", "surrogatepass")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def js_number(value: float) -> str:
    """``String(n)`` for a JavaScript number (shortest round-trip digits, JS exponent rules)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    digits_tuple = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(str(d) for d in digits_tuple.digits)
    exponent = digits_tuple.exponent
    assert isinstance(exponent, int)
    k = len(digits)
    n = exponent + k  # the decimal point sits after n digits
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = f"{digits[:n]}.{digits[n:]}"
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
        out = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + out


def describe(value: object) -> str:
    """How the Lambda names a received value in a reason (lib/core/metric-event.ts ``describe``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        shown = utf16_slice(value, 40) + "…" if utf16_length(value) > 40 else value
        return f"string {escape_for_display(js_string_json(shown))}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (int, float)):
        return f"number {js_number(to_js_number(value))}"
    return f"{type(value).__name__} {value!r}"


def to_js_number(value: float) -> float:
    """The number JSON.parse gives for Python's JSON text of ``value`` (big ints round, huge ones overflow)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf

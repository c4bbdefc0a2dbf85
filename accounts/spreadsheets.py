"""CSV files that are safe to open in a spreadsheet.

A cell that starts with =, +, - or @ is read as a formula by Excel and friends; a name typed into
the admin could then run one on a staff member's machine. Such cells get a leading apostrophe,
which spreadsheets show as plain text. Numbers are left as they are.
"""

import csv
from decimal import Decimal

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, (int, float, Decimal)):
        return value
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text):
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


class SafeWriter:
    """csv.writer whose rows pass through safe_cell."""

    def __init__(self, stream):
        self._writer = csv.writer(stream)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(cell) for cell in row])

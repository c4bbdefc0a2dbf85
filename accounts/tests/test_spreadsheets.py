import io
from decimal import Decimal

from accounts.spreadsheets import SafeWriter, safe_cell


def test_cells_that_a_spreadsheet_would_run_are_made_text():
    assert safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert safe_cell("+1+1") == "'+1+1"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("-2+3") == "'-2+3"


def test_numbers_and_ordinary_text_are_left_alone():
    assert safe_cell("-100.00") == "-100.00"
    assert safe_cell(Decimal("-5.50")) == Decimal("-5.50")
    assert safe_cell(42) == 42
    assert safe_cell("Dr Asha Varadan") == "Dr Asha Varadan"
    assert safe_cell(None) == ""


def test_the_writer_escapes_every_row():
    out = io.StringIO()
    SafeWriter(out).writerow(["=cmd()", "plain", 3])
    assert out.getvalue() == "'=cmd(),plain,3\r\n"

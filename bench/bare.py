"""The bare operations the reader is compared with: decoding a CP932 file, reading a workbook
with python-calamine. Run as ``python bench/bare.py cp932|xlsx FILE``."""

import sys

if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "cp932":
        with open(path, "rb") as fh:
            fh.read().decode("cp932")
    else:
        import python_calamine as pc

        pc.CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()

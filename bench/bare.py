"""The bare operations the reader is compared with: decoding a CP932 file, reading a workbook
with python-calamine, and that read plus the far-cell safety check that the engine keeps
(issue 20's XLSX target: the zip-bomb and dense-grid checks of ``funnel.ingest.sheets``).
Run as ``python bench/bare.py cp932|xlsx|xlsx_checked FILE``."""

import sys


def xlsx(path: str, checked: bool) -> None:
    """Read the first sheet with python-calamine, after the far-cell check when ``checked``."""
    import python_calamine as pc

    if checked:
        # The checks' own work (expanded size of every part, the dense grid of every
        # sheet), importing only the grid scan: not the engine's configuration.
        import zipfile

        from funnel.ingest.sheetgrid import sheet_grid

        with zipfile.ZipFile(path) as zf:
            sum(i.file_size for i in zf.infolist())
            for info in zf.infolist():
                if "worksheets/" in info.filename.lower():
                    sheet_grid(zf, info)
    pc.CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()


if __name__ == "__main__":
    kind, path = sys.argv[1], sys.argv[2]
    if kind == "cp932":
        with open(path, "rb") as fh:
            fh.read().decode("cp932")
    else:
        xlsx(path, kind == "xlsx_checked")

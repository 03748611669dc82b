"""Transcoding a legacy-encoded export (CP932, EUC-JP, CP1252 …) to UTF-8 for DuckDB.

A large file is cut into chunks at line feeds — a 0x0A byte is never inside a CP932, EUC-JP
or single-byte character — and the chunks are decoded by parallel worker processes (Python's
decoders hold the GIL, so threads would not help). Each worker is ``python -m
funnel.transcode`` on a byte range of the file, writing its own part: no fork of a process
running DuckDB and Streamlit threads, no re-import of the caller's main module. This module
imports nothing heavy, so a worker starts in a few tens of milliseconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PARALLEL_MIN_BYTES = 16 * 1024 * 1024


def chunk_bounds(data: bytes, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges covering ``data``, each ending just after a line feed."""
    size = len(data)
    cuts = [0]
    for i in range(1, parts):
        cut = data.find(b"\n", max(cuts[-1], size * i // parts))
        cuts.append(size if cut < 0 else cut + 1)
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def decode_chunk(data: bytes, codec: str) -> tuple[bytes, int]:
    """UTF-8 bytes of one chunk and how many characters had to be replaced."""
    try:
        return data.decode(codec).encode("utf-8"), 0
    except UnicodeDecodeError:
        text = data.decode(codec, errors="replace")
        return text.encode("utf-8"), text.count("\ufffd")


def transcode(src: Path, data: bytes, codec: str, out: Path, workers: int) -> int:
    """Write ``data`` (the bytes of ``src``, in ``codec``) to ``out`` as UTF-8 without BOM.

    Returns how many characters could not be decoded and were replaced.
    """
    if workers <= 1 or len(data) < PARALLEL_MIN_BYTES:
        utf8, replaced = decode_chunk(data, codec)
        out.write_bytes(utf8[3:] if utf8.startswith(b"\xef\xbb\xbf") else utf8)
        return replaced
    bounds = chunk_bounds(data, workers)
    parts = [out.with_name(f"{out.name}.part{i}") for i in range(len(bounds))]
    procs = [subprocess.Popen([sys.executable, "-m", "funnel.transcode", codec, str(src), str(a), str(b), str(p)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
             for (a, b), p in zip(bounds, parts, strict=True)]
    replaced = 0
    for proc in procs:
        stdout, _ = proc.communicate()
        if proc.returncode != 0:   # a worker that could not run: do it here instead
            return transcode(src, data, codec, out, workers=1)
        replaced += int(stdout or 0)
    with out.open("wb") as fh:
        for i, part in enumerate(parts):
            with part.open("rb") as piece:
                if i == 0 and piece.read(3) != b"\xef\xbb\xbf":
                    piece.seek(0)
                shutil.copyfileobj(piece, fh, 1 << 22)
            part.unlink()
    return replaced


def _main(argv: list[str]) -> int:
    codec, src, start, end, dst = argv
    with open(src, "rb") as fh:
        fh.seek(int(start))
        data = fh.read(int(end) - int(start))
    utf8, replaced = decode_chunk(data, codec)
    Path(dst).write_bytes(utf8)
    sys.stdout.write(str(replaced))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

"""Transcoding a legacy-encoded export (CP932, EUC-JP, CP1252 …) to UTF-8 for DuckDB.

A large file is cut into chunks at line feeds — a 0x0A byte is never inside a CP932, EUC-JP
or single-byte character — and the chunks are decoded in parallel (Python's decoders hold
the GIL, so threads would not help). The calling process decodes the first chunk itself; each
other chunk goes to a worker that runs this very file as a script (``python -I -S
transcode.py``): no fork of a process running DuckDB and Streamlit threads, and no import of
``funnel`` or ``site``, so a worker starts in about 10 ms. This is why the module imports only
``os`` and ``sys`` at the top.

Every chunk's UTF-8 is written straight into its place in the output file: a worker reports
its length, the caller answers with the offset (the sum of the lengths before it), and the
worker writes there. No part files, no second copy of 120 MB. An upload (bytes in memory)
reaches the workers through an anonymous in-memory file, so nothing but the output is written.

Each process decodes its chunk a slice of lines at a time (:data:`SLICE`), not in one piece:
a 50 MB chunk decoded whole needs some 200 MB of fresh memory (its bytes, its text, its
UTF-8), and faulting those pages in cost as much system time as the decoding itself; small
slices reuse the same few allocations.

CP932 goes through the C library's ``iconv`` where there is one (CP932 bytes to UTF-8 bytes
in one step, about twice as fast as Python's decode-then-encode), but only where it is proven
to give Python's bytes: see :func:`iconv_converter`.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False       # not ``typing``'s: importing typing would double a worker's start-up
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator
    from pathlib import Path

    Converter = Callable[[bytes], "bytes | None"]

PARALLEL_MIN_BYTES = 16 * 1024 * 1024
SLICE = 1 << 15             # bytes decoded at a time: allocations this small are reused, not faulted in
_BOM = b"\xef\xbb\xbf"
_SCRIPT = os.path.abspath(__file__)     # the worker's script, whatever the working directory later


def chunk_bounds(find_newline: Callable[[int], int], size: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` byte ranges covering ``size`` bytes, each ending just after a line feed.

    ``find_newline(pos)`` is the position of the first line feed at or after ``pos``, or -1
    (``data.find(b"\\n", pos)`` for bytes in memory): a file on disk is not read whole for this.
    """
    cuts = [0]
    for i in range(1, parts):
        cut = find_newline(max(cuts[-1], size * i // parts))
        cuts.append(size if cut < 0 else cut + 1)
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b > a]


def decode_chunk(data: bytes | memoryview, codec: str, convert: Converter | None = None) -> tuple[bytes, int]:
    """UTF-8 bytes of whole lines and how many characters had to be replaced.

    ``convert`` (see :func:`iconv_converter`) is tried first, then the strict decode, because
    they are the common case; only a slice with an undecodable byte pays for a second,
    replacing decode. Slices end at line feeds, so decoding them one by one gives the same text
    as decoding all at once.
    """
    if convert is not None:
        utf8 = convert(bytes(data))
        if utf8 is not None:
            return utf8, 0
    try:
        return str(data, codec).encode("utf-8"), 0
    except UnicodeDecodeError:
        text = str(data, codec, "replace")
        return text.encode("utf-8"), text.count("\ufffd")


def transcode(src: Path | None, data: bytes | None, codec: str, out: Path, workers: int) -> int:
    """Write the export (the file ``src``, or ``data`` in memory; in ``codec``) to ``out`` as
    UTF-8 without BOM, with up to ``workers`` processes (the caller being one of them).

    Returns how many characters could not be decoded and were replaced.
    """
    size = len(data) if data is not None else os.stat(src).st_size   # type: ignore[arg-type]
    # The check behind iconv costs ~30 ms once per process: worth it for large files only.
    convert = checked_iconv(codec) if size >= PARALLEL_MIN_BYTES else None
    parts = min(workers, _cpus())        # more processes than CPUs would only take turns
    if parts > 1 and size >= PARALLEL_MIN_BYTES and sys.executable and os.name == "posix":
        replaced = _parallel(src, data, codec, out, parts, convert)
        if replaced is not None:
            return replaced
    # One process, or a worker that could not do its part: all of it here.
    out_fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        if data is not None:
            return _decode_into(_slices(data, 0, len(data)), codec, out_fd, convert)[1]
        fd = os.open(src, os.O_RDONLY)   # type: ignore[arg-type]
        try:
            return _decode_into(_file_slices(fd, 0, os.fstat(fd).st_size), codec, out_fd, convert)[1]
        finally:
            os.close(fd)
    finally:
        os.close(out_fd)


# iconv's name and the lead bytes (first byte of a two-byte character) of each codec it may do.
ICONV_CODECS: dict[str, tuple[bytes, range | tuple[int, ...]]] = {
    "cp932": (b"CP932", (*range(0x81, 0xA0), *range(0xE0, 0xFD))),
}
_CHECKED: dict[str, Converter | None] = {}


def iconv_converter(codec: str) -> Converter | None:
    """``codec`` bytes → UTF-8 bytes by the C library's ``iconv`` (None for input it refuses),
    or None where there is no such ``iconv``. Not checked against Python: see :func:`checked_iconv`."""
    if codec not in ICONV_CODECS or os.name != "posix":
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        iconv_open, iconv = libc.iconv_open, libc.iconv
    except (OSError, AttributeError):
        return None
    iconv_open.restype, iconv_open.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
    pointer, size_p = ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)
    iconv.restype, iconv.argtypes = ctypes.c_size_t, [ctypes.c_void_p, pointer, size_p, pointer, size_p]
    handle = iconv_open(b"UTF-8", ICONV_CODECS[codec][0])
    if handle in (None, ctypes.c_void_p(-1).value):
        return None
    buffers = [ctypes.create_string_buffer(0)]

    def convert(data: bytes) -> bytes | None:
        room = 3 * len(data) + 4        # a CP932 byte never becomes more than 3 UTF-8 bytes
        if len(buffers[0]) < room:
            buffers[0] = ctypes.create_string_buffer(room)
        buf = buffers[0]
        src, left = ctypes.c_char_p(data), ctypes.c_size_t(len(data))
        dst, free = ctypes.c_char_p(ctypes.addressof(buf)), ctypes.c_size_t(room)
        done = iconv(handle, ctypes.byref(src), ctypes.byref(left), ctypes.byref(dst), ctypes.byref(free))
        if done != 0 or left.value:     # refused, cut short, or an approximate ("irreversible") character
            iconv(handle, None, None, None, None)
            return None
        return ctypes.string_at(buf, room - free.value)

    return convert


def checked_iconv(codec: str) -> Converter | None:
    """:func:`iconv_converter`, if it agrees with Python on every one- and two-byte sequence.

    Wherever iconv accepts a sequence its UTF-8 must be Python's; where iconv refuses one, the
    slice holding it is decoded by Python (glibc refuses 0x80, 0xA0 and 0xFD–0xFF, which Python
    maps to U+0080 and private-use characters), so undecodable bytes and their replacement
    are Python's too. A C library that maps any sequence differently is not used at all.
    Checked once per process (about 16,000 sequences, ~30 ms).
    """
    if codec not in _CHECKED:
        convert = iconv_converter(codec)
        if convert is not None:
            leads = ICONV_CODECS[codec][1]
            seqs = [bytes([b]) for b in range(256)] + [bytes([a, b]) for a in leads for b in range(256)]
            for seq in seqs:
                got = convert(seq)
                if got is not None and got != _python_utf8(seq, codec):
                    convert = None
                    break
        _CHECKED[codec] = convert
    return _CHECKED[codec]


def _python_utf8(data: bytes, codec: str) -> bytes | None:
    try:
        return str(data, codec).encode("utf-8")
    except UnicodeDecodeError:
        return None


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))     # the CPUs this process may run on (containers)
    except AttributeError:
        return os.cpu_count() or 1


def _parallel(src: Path | None, data: bytes | None, codec: str, out: Path, parts: int,
              convert: Converter | None) -> int | None:
    """The chunks decoded by this process and ``parts - 1`` workers; None if a worker failed
    (nothing is left running then, and the caller rewrites ``out`` from scratch). With
    ``convert`` (checked here), the workers make their own from the same C library."""
    import subprocess
    import tempfile
    from contextlib import ExitStack

    with ExitStack() as stack:
        if data is None:
            fd = os.open(src, os.O_RDONLY)   # type: ignore[arg-type]
            stack.callback(os.close, fd)
            size = os.fstat(fd).st_size
            bounds = chunk_bounds(lambda pos: _find_newline(fd, pos, size), size, parts)
            base = 0
        else:
            bounds = chunk_bounds(lambda pos: data.find(b"\n", pos), len(data), parts)
        if len(bounds) < 2:     # one long line: nothing to share
            return None
        if data is not None:
            # Only the workers' part, in a file without a name: nothing to clean up, ever.
            base = bounds[1][0]
            if hasattr(os, "memfd_create"):
                fd = os.memfd_create("funnel-transcode")
                stack.callback(os.close, fd)
            else:
                fd = stack.enter_context(tempfile.TemporaryFile(dir=out.parent)).fileno()
            _pwrite_all(fd, memoryview(data)[base:], 0)
        out_fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        stack.callback(os.close, out_fd)
        procs: list[subprocess.Popen[bytes]] = []
        stack.callback(_reap, procs)
        try:
            for a, b in bounds[1:]:
                procs.append(subprocess.Popen(
                    [sys.executable, "-I", "-S", _SCRIPT, codec, str(fd), str(a - base), str(b - base), str(out_fd),
                     str(SLICE), "python" if convert is None else "iconv"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                    pass_fds=(fd, out_fd)))
        except OSError:
            return None
        a, b = bounds[0]
        # Read, not mapped as in the workers: a file truncated meanwhile would kill this process
        # (SIGBUS), which may be the app's server; a worker may die, the caller then decodes alone.
        own = _slices(data, a, b) if data is not None else _file_slices(fd, a, b)
        offset, replaced = _decode_into(own, codec, out_fd, convert)
        try:
            for proc in procs:
                _send(proc, offset)
                length, bad = _receive(proc)
                offset, replaced = offset + length, replaced + bad
        except (OSError, ValueError):       # a worker died: a broken pipe, or no length line
            return None
        if any(proc.wait() != 0 for proc in procs):
            return None
        return replaced


def _decode_into(slices: Iterator[bytes | memoryview], codec: str, out_fd: int,
                 convert: Converter | None) -> tuple[int, int]:
    """Decode the first chunk slice by slice, writing each at once from the start of ``out_fd``
    (its place is known); returns the bytes written and the characters replaced."""
    written = replaced = 0
    for i, piece in enumerate(slices):
        utf8, bad = decode_chunk(piece, codec, convert)
        if not i and utf8.startswith(_BOM):
            utf8 = utf8[3:]
        _pwrite_all(out_fd, utf8, written)
        written, replaced = written + len(utf8), replaced + bad
    return written, replaced


def _slices(buf: bytes, start: int, end: int, size: int = 0) -> Iterator[memoryview]:
    """``buf[start:end]`` (bytes or a mapped file) in pieces of whole lines, about ``size``
    (SLICE) long."""
    size = size or SLICE
    with memoryview(buf) as view:
        while start < end:
            cut = buf.find(b"\n", min(start + size, end) - 1, end)
            stop = end if cut < 0 else cut + 1
            with view[start:stop] as piece:     # released before a mapped file is closed
                yield piece
            start = stop


def _file_slices(fd: int, start: int, end: int) -> Iterator[bytes]:
    """Like :func:`_slices`, read from a file SLICE bytes at a time."""
    carry: list[bytes] = []        # the start of a line longer than what was read so far
    while start < end:
        block = os.pread(fd, min(SLICE, end - start), start)
        if not block:              # the file got shorter since it was measured
            break
        start += len(block)
        cut = block.rfind(b"\n") + 1 if start < end else len(block)
        if not cut:
            carry.append(block)
            continue
        yield b"".join([*carry, block[:cut]]) if carry else block[:cut]
        carry = [block[cut:]] if cut < len(block) else []
    if carry:
        yield b"".join(carry)


def _send(proc: subprocess.Popen[bytes], offset: int) -> None:
    assert proc.stdin is not None
    proc.stdin.write(b"%d\n" % offset)
    proc.stdin.close()


def _receive(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    assert proc.stdout is not None
    length, bad = proc.stdout.readline().split()     # ValueError when the worker said nothing
    return int(length), int(bad)


def _reap(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _find_newline(fd: int, pos: int, size: int) -> int:
    while pos < size:
        window = os.pread(fd, 1 << 16, pos)
        if not window:
            break
        hit = window.find(b"\n")
        if hit >= 0:
            return pos + hit
        pos += len(window)
    return -1


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def _worker(argv: list[str]) -> int:
    """Decode one byte range of ``src_fd``, report its UTF-8 length and replaced characters,
    then write it at the offset the caller sends back (none: the caller gave up)."""
    import mmap  # a mapped file is decoded in place: no copy into fresh buffers

    codec, src_fd, start, end, out_fd, size = argv[0], *map(int, argv[1:6])
    # The caller checked iconv against Python on this same C library; a worker need not again.
    convert = iconv_converter(codec) if argv[6] == "iconv" else None
    # The UTF-8 waits here until its offset is known. Not as a list of slices: those would be
    # interleaved on the heap with the decoder's scratch memory, which could then not be
    # reused. A private anonymous map is only paged in as far as it is written; no character
    # of these codecs takes more than 3 UTF-8 bytes per source byte (a larger one would be an
    # IndexError: the worker fails and the caller decodes alone).
    held = mmap.mmap(-1, 3 * (end - start), flags=mmap.MAP_PRIVATE)
    length = replaced = 0
    with mmap.mmap(src_fd, 0, access=mmap.ACCESS_READ) as mapped:
        for piece in _slices(mapped, start, end, size):    # type: ignore[arg-type]
            utf8, bad = decode_chunk(piece, codec, convert)
            held[length:length + len(utf8)] = utf8
            length, replaced = length + len(utf8), replaced + bad
    sys.stdout.write(f"{length} {replaced}\n")
    sys.stdout.flush()
    line = sys.stdin.readline()
    if not line.strip():
        return 1
    with memoryview(held) as view:
        _pwrite_all(out_fd, view[:length], int(line))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))

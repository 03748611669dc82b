"""Workbooks are parsed in a child process with hard limits, never in the server.

A colleague's workbook is untrusted input, and python-calamine, openpyxl and the XML parsers
can be made to ask for terabytes (one cell at XFD1048576 in a 1.4 KB ``.xlsb``), to spin for
minutes (ODS rows repeated a billion times) or to abort the whole process (a failed Rust
allocation is SIGABRT): in the server that ends every user's session. So the parse runs where
browsers run untrusted content: a child process with an address-space cap (RLIMIT_AS), a CPU
time cap (RLIMIT_CPU), no file writes (RLIMIT_FSIZE 0, no core dump), a wall-clock deadline
and a cap on the size of what it sends back. A child that breaks a limit dies alone and the
file gets one message: it cannot be read safely.

The child sends back the table, not the sheets: :func:`funnel.ingest.sheets.table_of` runs in
the child, and the answer is JSON (the header, the sheet, the row count) and the columns as
one Arrow IPC stream, validated here: no pickle from the child, so a child broken into by a
crafted file cannot make the server run code, and DuckDB scans the Arrow columns directly
(faster than the Python objects the parse used to hand it). Workers are reused (a fresh one
costs about 0.3 s of imports), at most ``sandbox_workers`` at once; one that grew large is
retired.

The cheap checks stay (:func:`~funnel.ingest.sheets.check_expansion` first in the child,
:func:`~funnel.ingest.sheets.check_cells` beside an xlsx's parse): they give a more precise
message, but safety no longer depends on them recognising every container layout.
"""

from __future__ import annotations

import atexit
import importlib
import json
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from funnel.config import setting
from funnel.errors import EmptyFileError, FunnelError, TooLargeError, UnreadableFileError
from funnel.ingest.layout import HeaderGuess
from funnel.ingest.sheets import Sheet, SheetTable
from funnel.ingest.sniff import CONTAINER_HEADS

_HEADER = struct.Struct("<Q")
_ROOT = str(Path(__file__).resolve().parents[2])      # the folder holding the funnel package
# Errors the child may report by name (rebuilt here from their key and parameters).
_ERRORS: dict[str, type[FunnelError]] = {c.__name__: c for c in (EmptyFileError, TooLargeError, UnreadableFileError)}


class _Died(Exception):
    """The child ended (a limit, an abort), timed out or sent too much."""


def _read_exactly(fd: int, n: int, deadline: float) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise _Died("timeout")
        chunk = os.read(fd, min(n - len(buf), 1 << 22))
        if not chunk:
            raise _Died("eof")
        buf += chunk
    return bytes(buf)


class _Worker:
    """One child process serving parse requests, one at a time."""

    def __init__(self) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen([sys.executable, "-m", "funnel.ingest.sandbox"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=_ROOT)

    def ask(self, request: tuple[Any, ...]) -> tuple[dict[str, Any], bytes]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        blob = pickle.dumps(request, protocol=5)
        deadline = time.monotonic() + float(setting("sandbox_wall_seconds"))
        try:
            self.proc.stdin.write(_HEADER.pack(len(blob)))
            self.proc.stdin.write(blob)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise _Died("pipe") from exc
        # The answer is read into Arrow: import it while the child parses (the server is
        # idle until then; a first workbook in a fresh process would pay ~0.1 s after it).
        import pyarrow  # noqa: F401

        fd = self.proc.stdout.fileno()
        limit = int(setting("sandbox_output_mb")) * 1024**2
        parts = []
        for _ in range(2):      # the JSON answer, then the Arrow stream (empty unless a table)
            (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))
            limit -= size
            if limit < 0:
                raise _Died("output")
            parts.append(_read_exactly(fd, size, deadline))
        try:
            answer = json.loads(parts[0])
        except ValueError as exc:
            raise _Died("answer") from exc
        if not isinstance(answer, dict):
            raise _Died("answer")
        return answer, parts[1]

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:     # a request half-written to a child that died: its rest is not sent
                    pass


_lock = threading.Lock()
_idle: list[_Worker] = []
_slots = threading.BoundedSemaphore(int(setting("sandbox_workers")))


def _take() -> _Worker:
    with _lock:
        if _idle:
            return _idle.pop()
    return _Worker()


def _give_back(worker: _Worker, rss_mb: int) -> None:
    with _lock:
        if worker.proc.poll() is None and rss_mb < int(setting("sandbox_keep_mb")) \
                and len(_idle) < int(setting("sandbox_workers")):
            _idle.append(worker)
            return
    worker.close()


def prestart() -> None:
    """Start a worker now if none is idle, so that the first workbook does not wait for one to
    start (~0.3 s of imports, done by the child while its caller imports the engine)."""
    with _lock:
        if not _idle:
            _idle.append(_Worker())


def prestart_for(args: Sequence[str]) -> None:
    """:func:`prestart` when one of ``args`` names a regular file that starts as a workbook
    (a command line about to read one: it calls this before its own imports)."""
    for arg in args:
        try:
            if not os.path.isfile(arg):     # not a FIFO or a device: reading those may block
                continue
            with open(arg, "rb") as fh:
                head = fh.read(8)
        except (OSError, ValueError):
            continue
        if head.startswith(CONTAINER_HEADS):
            prestart()
            return


@atexit.register
def shutdown() -> None:
    """End the idle workers (they also end by themselves when the server's pipe closes)."""
    with _lock:
        workers, _idle[:] = list(_idle), []
    for w in workers:
        w.close()


def parse(kind: str, name: str, data: bytes) -> SheetTable | None:
    """The table of the workbook ``data`` (``kind`` as sniffed), parsed in a child process.

    Returns None when no sheet holds a table. Raises the child's refusal (damaged, encrypted,
    too many rows…) as it would have been raised here, and :class:`UnreadableFileError`
    ``error.unsafe_workbook`` when parsing broke a limit or killed the child.
    """
    try:
        return _ask("parse", kind, name, data)
    except UnreadableFileError as exc:
        if exc.key == "error.unsafe_workbook" and kind == "xlsx":
            # The grid check ran beside the parse, which may have ended first (a far cell
            # aborts calamine): the checks alone, in a fresh worker, say what they find.
            _ask("check", kind, name, data)
        raise


def _ask(op: str, kind: str, name: str, data: bytes) -> SheetTable | None:
    """One request to a worker: ``parse`` (the table) or ``check`` (the checks alone: None)."""
    request = (op, kind, name, data, (int(setting("max_rows")), int(setting("max_columns"))),
               int(setting("sandbox_cpu_seconds")))
    with _slots:
        worker = _take()
        try:
            answer, columns = worker.ask(request)
        except _Died as exc:
            worker.close()
            raise _unsafe(name) from exc
        except BaseException:
            worker.close()      # interrupted (a session ended mid-read): the child's state is unknown
            raise
    try:
        if answer.get("ended") is True:
            worker.close()      # it sent a refusal and ended itself (the grid check beside a parse)
        if answer.get("status") == "refused" and answer.get("error") in _ERRORS:
            error = _ERRORS[answer["error"]](name, key=str(answer["key"]), **dict(answer["params"]))
            _give_back(worker, int(answer["rss_mb"]))
            raise error
        if answer.get("status") == "ok":
            table = None if answer["table"] is None else _rebuild(answer["table"], columns)
            _give_back(worker, int(answer["rss_mb"]))
            return table
    except (KeyError, TypeError, ValueError) as exc:    # not what the child writes: broken into?
        worker.close()
        raise _unsafe(name) from exc
    worker.close()      # the child ran out of memory: its state is unknown
    raise _unsafe(name)


def _unsafe(name: str) -> UnreadableFileError:
    return UnreadableFileError(name, key="error.unsafe_workbook", memory_mb=setting("sandbox_memory_mb"),
                               seconds=setting("sandbox_cpu_seconds"))


def _rebuild(meta: dict[str, Any], columns: bytes) -> SheetTable:
    """The child's table from its JSON and its Arrow stream, checked cell by cell."""
    import pyarrow as pa  # type: ignore[import-untyped]

    data = pa.ipc.open_stream(columns).read_all()
    data.validate(full=True)
    exprs = [str(e) for e in meta["exprs"]]
    if data.num_columns != len(exprs) or data.num_rows != int(meta["rows"]):
        raise ValueError("columns")
    index, first, width = (int(x) for x in meta["guess"])
    return SheetTable(str(meta["sheet"]), [str(x) for x in meta["sheets"]], HeaderGuess(index, first, width),
                      [str(x) for x in meta["names"]], [(str(a), str(b)) for a, b in meta["renamed"]],
                      [str(x) for x in meta["raw_header"]], int(meta["rows"]), list(data.columns), exprs,
                      bool(meta["lead"]), None if meta["encoding"] is None else str(meta["encoding"]))


# ---- the child ---------------------------------------------------------------------------

def _limit_self() -> None:
    import resource

    mem = int(setting("sandbox_memory_mb")) * 1024**2
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))   # a parser has nothing to write
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))    # an abort leaves no core file behind


def _cpu_budget(seconds: int) -> None:
    """Allow ``seconds`` more CPU time from now (SIGXCPU ends the child past it)."""
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime) + seconds + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))


def _table(kind: str, name: str, data: bytes, limits: tuple[int, int],
           refuse: Callable[[FunnelError], NoReturn]) -> SheetTable | None:
    from funnel.ingest import sheets as sh
    from funnel.ingest.sniff import detect_encoding

    encoding = None
    with sh.paused_gc():
        if kind == "xlsx":
            sheets = _parsed_beside_check(data, name, refuse)
        elif kind in ("xls", "ods"):
            sheets = sh.read_workbook(data, name, kind)
        elif kind == "html":
            enc = detect_encoding(data)
            encoding = enc.label
            sheets = sh.read_html_tables(data.decode(enc.codec, errors="replace"))
        else:
            sheets = sh.read_spreadsheetml(data, name)
        table = sh.table_of(sheets, name, *limits)
        del sheets      # freed while the collector is off: else its first pass walks every cell
    if table is not None:
        table.encoding = encoding
    return table


def _parsed_beside_check(data: bytes, name: str, refuse: Callable[[FunnelError], NoReturn]) -> list[Sheet]:
    """An xlsx's sheets, its dense-grid check run beside calamine's parse rather than before it.

    The check scans the sheet XML with zlib and NumPy and calamine parses without the GIL, so
    on two cores the check's time (0.14 s of a 100k-row sheet) is hidden. A refusal is sent at
    once and ends this process, parse or not. Should calamine abort on a far cell before the
    check has refused, the server asks a fresh worker for the checks alone
    (:func:`parse`), so the file still gets the check's message.
    """
    from funnel.ingest import sheets as sh

    sh.check_expansion(data, name)      # the zip's directory alone: before anything is unpacked
    failed: list[BaseException] = []

    def check() -> None:
        try:
            sh.check_cells(data, name)
        except FunnelError as exc:
            refuse(exc)
        except BaseException as exc:    # MemoryError: raised by the parse's thread below
            failed.append(exc)

    guard = threading.Thread(target=check, daemon=True)
    guard.start()
    try:
        sheets = sh.parse_workbook(data, name, "xlsx")
    finally:
        guard.join()    # a refusal never returns; the parse's own error comes after the check's
    if failed:
        raise failed[0]
    return sheets


def _rss_mb() -> int:
    """This process's resident memory now, in MB: what keeping it idle costs. Not getrusage's
    peak, which Linux carries over fork and exec: a worker started by a server of over
    ``sandbox_keep_mb`` reported the server's peak, and was retired after every parse."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


class _NoPandas:
    """A finder that refuses pandas (pyarrow then converts without it, NaN still as NULL)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"No module named {name!r} in the parsing child", name=name)


def _serve() -> None:
    """The child's loop: one request in, one answer out, until the server closes the pipe."""
    import warnings

    warnings.simplefilter("ignore")     # openpyxl's warnings about odd workbooks: not ours to print
    out = os.fdopen(os.dup(1), "wb")    # the answers; anything a library prints goes nowhere
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    inp = sys.stdin.buffer
    _limit_self()
    # Imported before the first request, so a reused worker pays once. pyarrow is only needed
    # once a table is parsed: it is imported beside the first request's size check and
    # calamine's parse (which releases the GIL), not before them. pandas is never imported
    # here: pyarrow would import it on its first pa.array only to ask whether the input is a
    # pandas object (0.2 s of CPU, beside the checks and the parse it then slows).
    sys.meta_path.insert(0, _NoPandas())
    arrow = threading.Thread(target=importlib.import_module, args=("pyarrow",), daemon=True)
    arrow.start()
    import numpy  # noqa: F401
    import python_calamine  # noqa: F401

    sent = threading.Lock()     # one answer per request: the parse's, or the grid check's refusal

    def send(answer: dict[str, Any], columns: bytes = b"") -> None:
        answer["rss_mb"] = _rss_mb()
        for part in (json.dumps(answer, ensure_ascii=False).encode(), columns):
            out.write(_HEADER.pack(len(part)))
            out.write(part)
        out.flush()

    def refuse(exc: FunnelError) -> NoReturn:
        with sent:
            send({**_refusal(exc), "ended": True})
            os._exit(0)

    while True:
        head = inp.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        request = pickle.loads(inp.read(_HEADER.unpack(head)[0]))   # from the server: trusted
        op, kind, name, data, limits, cpu = request
        _cpu_budget(cpu)
        fatal, columns = False, b""
        try:
            if op == "check":
                from funnel.ingest.sheets import check_workbook

                check_workbook(data, name, kind)
                table = None
            else:
                table = _table(kind, name, data, limits, refuse)
            arrow.join()
            columns = b"" if table is None else _arrow(table)
            answer: dict[str, Any] = {"status": "ok", "table": None if table is None else _meta(table)}
        except FunnelError as exc:
            answer = _refusal(exc)
        except MemoryError:
            answer, fatal = {"status": "unsafe"}, True
        except Exception:   # calamine/openpyxl raise their own types for damaged files
            answer = _refusal(UnreadableFileError(name, key="error.corrupt_workbook"))
        del request, data
        with sent:
            send(answer, columns)
        if fatal:
            return


def _refusal(exc: FunnelError) -> dict[str, Any]:
    return {"status": "refused", "error": type(exc).__name__, "key": exc.key, "params": exc.params}


def _meta(table: SheetTable) -> dict[str, Any]:
    g = table.guess
    return {"sheet": table.sheet, "sheets": table.sheets, "guess": [g.index, g.first_column, g.width],
            "names": table.names, "renamed": table.renamed, "raw_header": table.raw_header, "rows": table.rows,
            "exprs": table.exprs, "lead": table.lead, "encoding": table.encoding}


def _arrow(table: SheetTable) -> bytes:
    """The columns as one Arrow IPC stream: text, numbers, booleans and timestamps as DuckDB
    reads them (NaN and NaT become NULL, as they did from NumPy)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    cols = []
    for arr in table.arrays:
        col = pa.array(arr, from_pandas=True)
        cols.append(col.cast(pa.string()) if pa.types.is_null(col.type) else col)
    batch = pa.record_batch(cols, names=[str(i) for i in range(len(cols))])
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.schema) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


if __name__ == "__main__":
    _serve()

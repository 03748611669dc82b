"""funnel.ingest.transcode: a legacy-encoded export decoded in parallel chunks comes out exactly as one
plain ``bytes.decode`` of the whole file would, whatever falls at a chunk boundary.

The parallel path normally starts at 16 MB; here the threshold is lowered so that tiny files
go through it (the calling process plus one or more worker processes, each writing its part in
place), and every result is compared with a decode of the whole file done another way.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from funnel.errors import UnreadableFileError
from funnel.ingest import transcode as tc
from funnel.ingest.reader import Source, load_file
from funnel.sql import rows
from funnel.sql.ingest import dropped_rows

# A line with two-byte characters (including NEC/IBM extensions), half-width kana and a CR LF.
LINE = "会社名,ﾌﾘｶﾞﾅ,㈱髙橋①,a@example.jp,セミナー\r\n"


def _plain(data: bytes, codec: str) -> tuple[bytes, int]:
    text = data.decode(codec, errors="replace")
    return text.encode("utf-8"), text.count("\ufffd")


@pytest.fixture(params=[5, 64, tc.SLICE], ids=lambda n: f"slice{n}")
def parallel(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny files take the parallel path, with as many processes as a test asks for, each
    process decoding slices shorter than a line, a few lines, or the whole chunk."""
    monkeypatch.setattr(tc, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(tc, "_cpus", lambda: 8)
    monkeypatch.setattr(tc, "SLICE", request.param)


def _both(tmp_path: Path, data: bytes, codec: str, workers: int) -> list[tuple[bytes, int]]:
    """The transcode of ``data`` from a file on disk and from bytes in memory."""
    src = tmp_path / "in.csv"
    src.write_bytes(data)
    got = []
    for name, args in (("path", (src, None)), ("bytes", (None, data))):
        out = tmp_path / f"out_{name}.csv"
        replaced = tc.transcode(*args, codec, out, workers)
        got.append((out.read_bytes(), replaced))
    return got


@pytest.mark.parametrize("workers", [2, 3, 4, 7])
@pytest.mark.parametrize("codec", ["cp932", "euc_jp", "cp1252"])
def test_parallel_equals_plain_decode(parallel, tmp_path: Path, codec: str, workers: int) -> None:
    text = {"cp932": LINE, "euc_jp": "会社名,ﾌﾘｶﾞﾅ,高橋一郎,a@example.jp,セミナー\r\n",
            "cp1252": "Café,Müller™,a@example.com\r\n"}[codec]
    data = "".join(f"{i},{text}" for i in range(97)).encode(codec)
    expected = _plain(data, codec)
    assert expected[1] == 0
    assert _both(tmp_path, data, codec, workers) == [expected, expected]


def test_chunks_end_after_a_line_feed_wherever_the_cut_is_aimed() -> None:
    """Shift the content one byte at a time so that each aimed cut falls inside every kind of
    sequence (a two-byte character, a half-width kana, a CR LF pair): the chunk still ends
    just after the next line feed, and the chunks tile the data."""
    body = (("髙橋①" + LINE) * 6).encode("cp932") + "最終行".encode("cp932")   # no line feed at the end
    for shift in range(len(LINE.encode("cp932")) + 6):
        data = b"x" * shift + b"\r\n" + body
        for parts in range(1, 7):
            bounds = tc.chunk_bounds(lambda pos, d=data: d.find(b"\n", pos), len(data), parts)
            assert bounds[0][0] == 0 and bounds[-1][1] == len(data)
            assert all(b1 == a2 for (_, b1), (a2, _) in zip(bounds, bounds[1:], strict=False))
            assert all(data[b - 1:b] == b"\n" for _, b in bounds[:-1])
            assert b"".join(data[a:b].decode("cp932").encode() for a, b in bounds) == data.decode("cp932").encode()


@pytest.mark.parametrize("size", range(1, 12))
def test_slices_are_whole_lines_that_tile_the_data(tmp_path: Path, size: int) -> None:
    """From memory and from a file (read a block at a time, a long line carried over several
    blocks): pieces end at line feeds, are about ``size`` long, and join back to the data."""
    data = b"a\n" + b"long line without a break " * 3 + b"\n\n\r\nxy\nlast, no line feed"
    path = tmp_path / "in.csv"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        for start, end in [(0, len(data)), (2, len(data)), (0, 2), (5, 40)]:
            from_memory = [bytes(p) for p in tc._slices(data, start, end, size)]
            saved = tc.SLICE
            tc.SLICE = size
            try:
                from_file = list(tc._file_slices(fd, start, end))
            finally:
                tc.SLICE = saved
            for pieces in (from_memory, from_file):
                assert b"".join(pieces) == data[start:end]
                assert all(p.endswith(b"\n") for p in pieces[:-1])
            # In memory: the fewest whole lines that make at least ``size`` bytes.
            assert all(len(p) >= size and b"\n" not in p[size - 1:-1] for p in from_memory[:-1])
        # A file shorter than expected (cut meanwhile): what is there, nothing more.
        assert b"".join(tc._file_slices(fd, 0, len(data) + 100)) == data
    finally:
        os.close(fd)


@pytest.mark.parametrize("workers", [2, 3])
def test_cut_positions_through_the_processes(parallel, tmp_path: Path, workers: int) -> None:
    body = (("髙橋①" + LINE) * 6).encode("cp932") + "最終行".encode("cp932")
    for shift in range(0, len(LINE.encode("cp932")), 9):
        data = b"x" * shift + b"\r\n" + body
        expected = _plain(data, "cp932")
        assert _both(tmp_path, data, "cp932", workers) == [expected, expected], shift


def test_undecodable_bytes_are_replaced_and_counted_as_in_a_plain_decode(parallel, tmp_path: Path) -> None:
    # 0x81 0x0A: a lead byte cut off by a line end, right where a chunk may end; 0x85 0x40
    # and 0xEB 0x40: unassigned two-byte codes inside a line.
    lines = [LINE.encode("cp932"), b"9,\x81\n", b"10,\x85\x40\xeb\x40,x\r\n", LINE.encode("cp932")] * 20
    data = b"".join(lines)
    expected = _plain(data, "cp932")
    assert expected[1] == 60
    for workers in (1, 2, 3, 6):
        assert _both(tmp_path, data, "cp932", workers) == [expected, expected]


def test_a_file_without_line_feeds_is_decoded_in_one_piece(parallel, tmp_path: Path) -> None:
    data = ("髙橋," * 200).encode("cp932")
    expected = _plain(data, "cp932")
    assert _both(tmp_path, data, "cp932", 4) == [expected, expected]


@pytest.mark.parametrize("size", [5, tc.SLICE])
def test_one_cpu_decodes_in_the_calling_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, size: int) -> None:
    monkeypatch.setattr(tc, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(tc, "_cpus", lambda: 1)
    monkeypatch.setattr(tc, "SLICE", size)

    def no_process(*args, **kwargs):
        raise AssertionError("no worker on a single CPU")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    data = (LINE * 50).encode("cp932")
    assert _both(tmp_path, data, "cp932", 4) == [_plain(data, "cp932")] * 2


@pytest.mark.parametrize("python", ["/nonexistent/python", "/bin/false"])
def test_a_worker_that_cannot_run_leaves_the_work_to_the_caller(parallel, monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path, python: str) -> None:
    """A worker that does not start, or dies without a word: the whole file is decoded by the
    calling process instead, and nothing of the attempt is left on disk."""
    monkeypatch.setattr(tc.sys, "executable", python)
    data = (LINE * 50).encode("cp932") + b"1,\xff\r\n"
    assert _both(tmp_path, data, "cp932", 3) == [_plain(data, "cp932")] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out_bytes.csv", "out_path.csv"]


def test_workers_are_lean_processes(parallel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each worker runs this module as a script, isolated (-I) and without site (-S): it must
    not import the funnel package, typing or anything beyond the codec."""
    seen = []
    real = subprocess.Popen

    def spy(cmd, *args, **kwargs):
        seen.append(cmd)
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    data = (LINE * 50).encode("cp932")
    assert _both(tmp_path, data, "cp932", 2) == [_plain(data, "cp932")] * 2
    assert seen and all(cmd[1:4] == ["-I", "-S", os.path.abspath(tc.__file__)] for cmd in seen)
    probe = (f"import sys; path = {tc._SCRIPT!r}\n"
             "exec(compile(open(path).read(), path, 'exec'), {'__name__': 'probe', '__file__': path})\n"
             "print(' '.join(sorted(sys.modules)))")
    loaded = subprocess.run([tc.sys.executable, "-I", "-S", "-c", probe],
                            capture_output=True, text=True, check=True).stdout.split()
    assert not {"funnel", "typing", "subprocess", "pathlib"} & set(loaded)


def test_upload_loads_like_the_same_file_on_disk(parallel, con, tmp_path: Path) -> None:
    """Through the reader: same rows, same set-aside lines with the same line numbers, same
    replaced-character notice, whether the export is a path or an upload."""
    lines = ["番号,会社名,メール,区分\r\n"] + [f"{i},㈱髙橋{i},u{i}@example.jp,ｾﾐﾅｰ\r\n" for i in range(70_000)]
    lines[120] = "120,壊れた行\r\n"          # too few fields: set aside as malformed
    # Two unassigned codes in the middle, beyond the sample the encoding is detected from.
    data = "".join(lines).encode("cp932").replace("㈱髙橋35000,".encode("cp932"), b"\x85\x40\xeb\x4035000,")
    assert len(data) > 2 * (1 << 20) + 100_000
    path = tmp_path / "leads.csv"
    path.write_bytes(data)
    got = []
    for i, source in enumerate((Source.from_path(path), Source.from_bytes("leads.csv", data))):
        work = tmp_path / f"w{i}"
        work.mkdir()
        lt = load_file(con, source, f"raw_{i}", work)
        cols = ", ".join(lt.raw_columns)
        got.append((lt.report.encoding, lt.report.rows_read, lt.report.dropped, lt.report.notices,
                    rows(con, f"SELECT {cols} FROM raw_{i} ORDER BY rowid"),
                    dropped_rows(con, f"raw_{i}", lt.raw_columns)))
        assert [p.name for p in work.iterdir()] == [f"raw_{i}.csv"]
    assert got[0] == got[1]
    encoding, rows_read, dropped, notices, table, dropped_lines = got[0]
    assert encoding == "CP932 (Shift_JIS)" and rows_read == 69_999 and dropped == {"malformed": 1}
    assert notices == [("notice.decode_replaced", {"chars": 2})]
    assert [r[:3] for r in dropped_lines] == [(1, 121, "malformed")]     # physical line 121
    assert table[34_999][:3] == ("35000", "\ufffd@\ufffd@35000", "u35000@example.jp")
    assert table[200][1] == "㈱髙橋201" and table[200][3] == "ｾﾐﾅｰ"


def test_an_export_that_vanishes_before_its_transcode_is_unreadable(con, monkeypatch: pytest.MonkeyPatch,
                                                                    tmp_path: Path) -> None:
    """The transcode reads the file itself (the reader no longer does): a file gone since it
    was sniffed is still reported as not found, and leaves nothing behind."""
    import funnel.ingest.reader as reader

    path = tmp_path / "leads.csv"
    path.write_bytes(("番号,会社名\r\n" + "1,㈱髙橋\r\n" * 10).encode("cp932"))
    real = reader.transcode

    def vanish(src, *args):
        src.unlink()
        return real(src, *args)

    monkeypatch.setattr(reader, "transcode", vanish)
    work = tmp_path / "w"
    work.mkdir()
    with pytest.raises(UnreadableFileError) as err:
        load_file(con, Source.from_path(path), "raw_v", work)
    assert err.value.key == "error.not_found"
    assert list(work.iterdir()) == []


def test_only_a_byte_order_mark_at_the_very_start_is_dropped(parallel, tmp_path: Path) -> None:
    # A lossy UTF-8 file goes through the transcode too; U+FEFF inside the text is text.
    data = b"\xef\xbb\xbfa,b\n" + b"\xef\xbb\xbfc,d\n" * 30 + b"e,\xff\n"
    text = data.decode("utf-8", errors="replace")
    expected = (text[1:].encode("utf-8"), 1)
    assert _both(tmp_path, data, "utf-8", 3) == [expected, expected]


def _iconv_or_skip() -> tc.Converter:
    convert = tc.checked_iconv("cp932")
    if convert is None:
        pytest.skip("this C library has no iconv that agrees with Python's CP932")
    return convert


def test_iconv_gives_pythons_bytes_for_every_character_it_accepts() -> None:
    """Every one- and two-byte CP932 sequence, and a whole line of mixed text, converted by iconv
    where it accepts them; what it refuses (the bytes Python maps to U+0080 and private use) is
    left to Python, so the file's bytes are Python's whatever it holds."""
    convert = _iconv_or_skip()
    assert convert(LINE.encode("cp932")) == LINE.encode("utf-8")
    refused = [b for b in range(256) if convert(bytes([b])) is None]
    assert {0x80, 0xA0, 0xFD, 0xFE, 0xFF} <= set(refused) or not refused
    for seq in (b"\x81\n", b"\x85\x40", b"\x80", b"\xa0"):    # cut, unassigned, Python-only
        assert convert(seq) is None or convert(seq) == seq.decode("cp932").encode()


def test_the_bytes_only_python_decodes_come_out_as_pythons(parallel, tmp_path: Path) -> None:
    lines = [LINE.encode("cp932"), b"1,\x80,\xa0,\xfd\xfe\xff\r\n", b"2,\x81\n", LINE.encode("cp932")] * 20
    data = b"".join(lines)
    expected = _plain(data, "cp932")
    assert "1,\u0080,\uf8f0,\uf8f1\uf8f2\uf8f3\r\n".encode() in expected[0] and expected[1] == 20
    for workers in (1, 2, 3):
        assert _both(tmp_path, data, "cp932", workers) == [expected, expected]


def test_iconv_that_maps_one_character_differently_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A C library whose CP932 table differs from Python's anywhere (here: 0x8160, the wave
    dash, the classic mismatch) is not trusted for any of it."""
    real = tc.iconv_converter("cp932")
    if real is None:
        pytest.skip("no iconv for CP932 here")

    def skewed(data: bytes) -> bytes | None:
        return "\u301c".encode() if data == b"\x81\x60" else real(data)

    monkeypatch.setattr(tc, "_CHECKED", {})
    monkeypatch.setattr(tc, "iconv_converter", lambda codec: skewed)
    assert tc.checked_iconv("cp932") is None
    monkeypatch.setattr(tc, "iconv_converter", lambda codec: real)
    monkeypatch.setattr(tc, "_CHECKED", {})
    assert tc.checked_iconv("cp932") is real


def test_workers_are_told_to_use_iconv_only_when_it_was_checked(parallel, monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    _iconv_or_skip()
    seen = []
    real = subprocess.Popen

    def spy(cmd, *args, **kwargs):
        seen.append(cmd[-1])
        return real(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", spy)
    data = (LINE * 50).encode("cp932")
    assert _both(tmp_path, data, "cp932", 2) == [_plain(data, "cp932")] * 2
    data = ("会社名,高橋一郎,セミナー\r\n" * 50).encode("euc_jp")
    assert _both(tmp_path, data, "euc_jp", 2) == [_plain(data, "euc_jp")] * 2
    assert seen == ["iconv", "iconv", "python", "python"]

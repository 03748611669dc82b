"""Settings of the engine, declared once with their default and why they are what they are.

Everything tunable lives here (or in the data files under ``funnel/data``), not as literals
scattered through the code. ``.streamlit/config.toml`` mirrors ``max_upload_mb``; a test keeps
the two in agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The engine's data files (synonyms, vocabularies, taxonomy, benchmarks, messages): one place,
# so a module moved between subpackages never loses them.
DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("header_scan_rows", 100,
            "Rows scanned for the header row; a Japanese importer scans 100 (export_formats.md §1.2)."),
    Setting("sniff_bytes", 256 * 1024,
            "Bytes of a text file decoded to detect its delimiter and header row."),
    Setting("tail_rows", 30,
            "Rows at the end of a table inspected for report footers and summary rows."),
    Setting("mapping_sample_rows", 2000,
            "Rows sampled per column to recognise columns by their content (e.g. emails)."),
    Setting("email_content_share", 0.5,
            "Share of non-empty sampled cells that must hold an address for a column to count as "
            "an email column when no header names one."),
    Setting("id_overlap_min", 0.05,
            "Least share of one side's ID values found on the other side for a column pair to be "
            "suggested as a link."),
    Setting("max_line_bytes", 64 * 1024 * 1024,
            "Longest CSV line accepted (a 10 MB free-text cell must still load)."),
    Setting("csv_first_line_bytes", 16 * 1024 * 1024,
            "Longest CSV line of the first read of a file; a file with a longer line is read again "
            "with max_line_bytes. DuckDB's read buffers are sized on it, and smaller ones let two "
            "threads share a 120 MB export (0.47 -> 0.30 s at 1M rows); 8 MB made the next table "
            "written slower, 4 MB more so."),
    Setting("wilson_z", 1.959963984540054, "z for the 95% Wilson score interval."),
    Setting("small_sample_n", 30,
            "Below this many leads a source's rate is flagged as a small sample."),
    Setting("source_similarity_min", 85,
            "Least rapidfuzz ratio (0-100) of two source names for a merge to be suggested: the "
            "real typos of the Pardot org score 92-96 (Advertisement/Advertisment 96, Trade Show/"
            "Trades Show 95, Eblasts/Eblast 92), distinct sources below 80 (Google/Bing Natural "
            "Search 78, Advertising/Advertisement 75)."),
    Setting("source_similarity_min_length", 4,
            "Shortest source name (spaces removed) considered for a merge suggestion: in a two- or "
            "three-letter name one letter is not a typo (Ad / AI)."),
    Setting("source_min_leads", 30,
            "Sources with fewer leads are folded into one その他 row of a ranking (editable on the "
            "page): below 30 the 95% interval spans more than ±15 points at typical rates."),
    Setting("rank_prior_leads", 30,
            "Strength of the overall rate in the ranking rate (empirical-Bayes shrinkage): a source "
            "is ranked as if it had this many more leads converting at the overall rate."),
    Setting("chart_top_sources", 15,
            "Sources drawn as bars in a ranking chart; the rest are one その他 bar."),
    Setting("chart_max_bars", 24,
            "Most bars on a time axis: the period (month, quarter, year) is chosen so the data's "
            "span fits (24 months = 2 years monthly, 6 years quarterly)."),
    Setting("chart_max_value_labels", 12,
            "Most bars that carry a value label; with more, the values are in the tooltip and the "
            "table (a 14px label is wider than a bar of 24 on a 1024px screen)."),
    Setting("chart_max_axis_labels", 12,
            "Most labels on a time axis; every k-th period is labelled beyond that."),
    Setting("date_floor_year", 1990,
            "Dates before 1 January of this year are flagged as implausible (placeholders such as "
            "1900-01-01 or 1970-01-01; no CRM export holds real records that old)."),
    Setting("date_future_years", 2,
            "Dates more than this many years after the data's newest creation date are flagged "
            "(the Pardot org's stray 2030 close date); planned close dates a year ahead stay."),
    Setting("session_idle_minutes", 240,
            "Minutes a session (uploads, mappings, inputs) is kept after its last use, so a reload "
            "(F5) returns to it: a workshop's lunch break and afternoon; then its workspace is freed."),
    Setting("session_max", 40,
            "Most sessions kept at once; beyond it the least recently used is closed (each holds a "
            "DuckDB workspace of up to duckdb_memory_limit while it works)."),
    Setting("duckdb_threads", 2, "DuckDB threads per workspace (one workspace per user session)."),
    Setting("duckdb_memory_limit", "1GB", "DuckDB memory cap per workspace."),
    Setting("max_upload_mb", 400,
            "Largest upload accepted by the app (mirrors server.maxUploadSize); fits a 1M-lead "
            "export of ~120 MB with room for a second file."),
    Setting("max_rows", 5_000_000,
            "Most rows read from one file (CLI and app). Five times the 1M-lead benchmark export, "
            "which loads and links within duckdb_memory_limit; a bigger file is refused with a "
            "message, checked as the rows are read (the read stops at the limit)."),
    Setting("max_columns", 2500,
            "Most columns read from one file. DuckDB keeps a buffer of 256 KB per column of a table "
            "being written, so a 16,384-column sheet needs 4 GB whatever its rows: past this the "
            "file is refused with a message. HubSpot 'all properties' exports have 1,000-2,000."),
    Setting("saved_max_cells", 200_000_000,
            "Most cells (rows x columns) of one table in a saved .funnel file, checked from the "
            "Parquet footer before reading: 5M rows (max_rows) of 40 columns; a Parquet bomb is "
            "billions."),
    Setting("duckdb_temp_limit", "8GB",
            "Disk a workspace's DuckDB may spill to (max_temp_directory_size): one session or one "
            "crafted file cannot fill the server's disk (a Parquet bomb once wrote 19 GB)."),
    Setting("close_wait_seconds", 10,
            "How long closing a workspace interrupts a query still running in it (a session ended "
            "mid-load) before closing the connection anyway."),
    Setting("sandbox_memory_mb", 2560,
            "Address space of the child process that parses a workbook (funnel/ingest/sandbox.py). "
            "The 100k-row benchmark XLSX needs about 0.4 GB there, a full sheet of 8 columns "
            "(1,048,000 rows) 1.8 GB. Past it the child dies alone and the file is refused."),
    Setting("sandbox_cpu_seconds", 40,
            "CPU time one workbook may take to parse (the 100k-row benchmark XLSX: about 1 s); "
            "with sandbox_wall_seconds every file is read or refused within a minute."),
    Setting("sandbox_wall_seconds", 55,
            "Wall-clock time one workbook may take to parse, waiting included."),
    Setting("sandbox_output_mb", 1536,
            "Largest table the parsing child may send back (about three times the 1M-row sheet)."),
    Setting("sandbox_workers", 2,
            "Workbooks parsed at the same time (one child each; others wait). The machine has 2 cores."),
    Setting("sandbox_keep_mb", 768,
            "A parsing child that grew past this (a big workbook) is retired rather than reused."),
    Setting("memo_entries", 200,
            "Query results a workspace keeps until its tables change (Workspace.remember): "
            "the reads a page repeats on every rerun, and the pages of its long lists."),
    Setting("preview_rows", 20, "Rows shown in previews of an uploaded file."),
    Setting("drop_examples", 20, "Example rows kept per drop reason in a load report."),
    Setting("attribution_model", "position",
            "Default multi-touch model (contracts/cli.md): U-shaped position, which credits both the "
            "touch that brought a lead and the one that turned it into a deal."),
    Setting("attribution_half_life_days", 7.0,
            "Half-life of the time-decay model in days (contracts/cli.md default; Marketo Measure "
            "and GA4-style time decay use a 7-day half-life)."),
)

_BY_NAME = {s.name: s for s in SETTINGS}

# The multi-touch attribution models of contracts/cli.md, in its order (the CLI's choices, the
# page's options and the SQL's credit rules all come from this one list).
ATTRIBUTION_MODELS: tuple[str, ...] = ("first", "last", "linear", "position", "time_decay")


def setting(name: str) -> Any:
    """Return the default value of the setting ``name`` (KeyError if undeclared)."""
    return _BY_NAME[name].default

"""The fast typed CSV reader and the careful line-by-line reader give the same case."""
from __future__ import annotations

import pandas as pd

import measureopt as mo
from benchmarks.generate import generate_case
from measureopt import tables
from tests.conftest import CASES


def _both(case_dir, monkeypatch):
    fast = mo.load(case_dir)
    with monkeypatch.context() as patch:
        patch.setattr(tables, "_read_csv_fast", lambda *args: None)
        careful = mo.load(case_dir)
    return fast, careful


def test_fast_and_careful_readers_agree(tmp_path, monkeypatch):
    for case_dir in (generate_case(tmp_path / "gen", 12, 30, seed=3), CASES / "region-44"):
        fast, careful = _both(case_dir, monkeypatch)
        for name in ("municipalities", "measures", "programmes"):
            pd.testing.assert_frame_equal(getattr(fast, name), getattr(careful, name), check_dtype=False)


def test_fast_reader_is_used_on_clean_files_and_declines_others(tmp_path):
    clean = tmp_path / "clean.csv"
    clean.write_text('measure,capex_eur,name\nA,10,"x, y"\nB,,z\n')
    table = tables._read_csv_fast(clean, "clean.csv", frozenset({"capex_eur"}))
    assert table is not None and list(table.lines) == [2, 3]
    assert table.frame["capex_eur"].isna().tolist() == [False, True]
    for text in ('measure,capex_eur\nA,nan\n', 'measure,capex_eur\nA,abc\n', 'measure,capex_eur\n\nA,1\n',
                 'measure,name\nA,"two\nlines"\n', '\ufeffmeasure,capex_eur\nA,1\n', 'measure;capex_eur\nA;1\n'):
        path = tmp_path / "other.csv"
        path.write_text(text, encoding="utf-8")
        assert tables._read_csv_fast(path, "other.csv", frozenset({"capex_eur"})) is None, text

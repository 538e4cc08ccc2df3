"""The HTML report: escaping of hostile names, shadow prices in plain words checked by hand,
Lorenz curve against the verified Gini, compare tables, and a real headless-Chromium render."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import measureopt as mo
from measureopt.cli import main
from measureopt.report import lorenz_points
from measureopt.verify import population_gini
from tests.conftest import CASES, EXAMPLE_CASES
from tests.test_macc import write_case

HOSTILE_MUNI = "<script>alert(1)</script>"
HOSTILE_MEASURE = '"><img src=x onerror=alert(1)>'

# Max abatement with budget EUR 10,000 and a 40 % vulnerable share, two continuous measures at
# EUR 100/unit: A (2 t/unit, v = 0) and B (1 t/unit, v = 1). V >= 0.4 B gives x_B >= 2s/(1-s) x_A,
# so abatement = (budget / 100) * 2 / (1 + s) = 142.857 t/yr. By hand:
#   d abatement / d budget = 2 / (100 * 1.4) = 0.0142857 t per EUR (14,286 t/yr per EUR 1 M)
#   d abatement / d s = -200 / (1 + s)^2 = -102.04 t/yr per unit of s: -1.02 t/yr per percentage point
SHADOW_MUNIS = [{"municipality": "M<1>", "name": HOSTILE_MUNI, "population": 1000, "households": 500,
                 "vulnerable_households": 100, "baseline_emissions_t": 1000}]
SHADOW_MEASURES = [
    {"measure": "A", "municipality": "M<1>", "name": HOSTILE_MEASURE, "sector": "residential", "max_units": 1000,
     "integer": "false", "capex_eur": 100, "co2_reduction_t": 2, "lifetime_years": 20, "vulnerable_share": 0},
    {"measure": "B", "municipality": "M<1>", "name": "advice", "sector": "residential", "max_units": 1000,
     "integer": "false", "capex_eur": 100, "co2_reduction_t": 1, "lifetime_years": 20, "vulnerable_share": 1},
]
SHADOW_YAML = ('name: "<b>Hostile</b> & co"\ndescription: "\\"><img src=x onerror=alert(2)>"\n'
               "budget: {total_eur: 10000}\njustice: {vulnerable_share_min: 0.4}\n")


@pytest.fixture(scope="module")
def hostile_result(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    case_dir = write_case(root / "case", SHADOW_YAML, SHADOW_MUNIS, SHADOW_MEASURES)
    done = CliRunner().invoke(main, ["solve", str(case_dir), "--out", str(root / "res"), "--report", "-q"])
    assert done.exit_code == 0, done.output
    return root / "res"


def test_input_strings_are_escaped(hostile_result):
    page = (hostile_result / "report.html").read_text(encoding="utf-8")
    for raw in (HOSTILE_MUNI, HOSTILE_MEASURE, "<b>Hostile</b>", "<img", "M<1>"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;Hostile&lt;/b&gt; &amp; co" in page
    assert "<script" not in page.lower()


def test_report_is_self_contained(hostile_result):
    page = (hostile_result / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href|action)\s*=\s*["']?\s*(https?:|//|file:)""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", page, re.I)
    assert "@import" not in page and "<link" not in page and "<iframe" not in page
    assert "default-src 'none'" in page  # the browser refuses any request even if one slipped in
    assert page.count("<svg") >= 3  # sector, MACC, Lorenz
    assert "@media print" in page


def test_shadow_prices_read_as_hand_computed(hostile_result):
    summary = json.loads((hostile_result / "summary.json").read_text())
    assert summary["annual_abatement_t"] == pytest.approx(1000 / 7)
    page = (hostile_result / "report.html").read_text(encoding="utf-8")
    assert ("The total budget (EUR 10,000) is fully used: one more euro of it buys 0.0143 tCO2/yr more abatement "
            "(14,286 tCO2/yr per EUR 1 M).") in page
    assert "raising it to 41.0 % costs 1.02 tCO2/yr of abatement." in page


def test_lorenz_curve_by_hand_and_against_the_verified_gini():
    x, y = lorenz_points(np.array([30.0, 10.0]), np.array([100.0, 100.0]))
    assert x.tolist() == [0, 0.5, 1] and y.tolist() == [0, 0.25, 1]
    rng = np.random.default_rng(7)
    for _ in range(20):
        benefit, population = rng.uniform(0, 50, 9), rng.uniform(1, 100, 9)
        x, y = lorenz_points(benefit, population)
        area_gini = 1 - np.sum(np.diff(x) * (y[1:] + y[:-1]))
        assert area_gini == pytest.approx(population_gini(benefit, population), abs=1e-12)


def test_report_is_reproducible_and_has_every_section(tmp_path):
    runner = CliRunner()
    for out in ("a", "b"):
        done = runner.invoke(main, ["solve", str(CASES / "rural-cluster"), "-s", "fair-floor", "--out", str(tmp_path / out), "-q", "--report"])
        assert done.exit_code == 0, done.output
    page = (tmp_path / "a" / "report.html").read_bytes()
    assert page == (tmp_path / "b" / "report.html").read_bytes()
    text = page.decode()
    for heading in ("What limits the plan", "Portfolio by sector", "Marginal abatement cost curve", "Fairness",
                    "Municipalities", "Selected measures", "Settings of this run"):
        assert f"<h2>{heading}</h2>" in text
    munis = pd.read_csv(tmp_path / "a" / "municipalities.csv", dtype={"municipality": str})
    assert all(f"<td>{m}</td>" in text for m in munis["municipality"])
    # names from the case (other municipalities may be at their floor too in an optimum that ties)
    assert re.search(r"The population floor \(0\.5\) binds for [^.:]*Vila Nova do Sobral \(PT-001\)", text)


def test_report_without_the_case_says_so_and_case_option_restores_it(tmp_path):
    case_dir = shutil.copytree(CASES / "rural-cluster", tmp_path / "case")
    assert CliRunner().invoke(main, ["solve", str(case_dir), "--out", str(tmp_path / "res"), "-q"]).exit_code == 0
    moved = shutil.move(case_dir, tmp_path / "moved")
    done = CliRunner().invoke(main, ["report", str(tmp_path / "res")])
    assert done.exit_code == 0, done.output
    assert "was not found" in (tmp_path / "res" / "report.html").read_text()
    done = CliRunner().invoke(main, ["report", str(tmp_path / "res"), "--case", str(moved)])
    assert done.exit_code == 0 and "was not found" not in (tmp_path / "res" / "report.html").read_text()


def test_not_a_results_folder_is_exit_2(tmp_path):
    done = CliRunner().invoke(main, ["report", str(tmp_path)])
    assert done.exit_code == 2 and "not a results folder" in done.output


def test_compare_table_and_tradeoff_chart_are_rendered(tmp_path):
    pd.DataFrame({"scenario": ["base", HOSTILE_MUNI], "status": ["optimal", "optimal"],
                  "investment_eur": [1e6, 2e6], "annual_abatement_t": [500.0, 800.0]}).to_csv(tmp_path / "compare.csv", index=False)
    path = mo.report(tmp_path)
    page = path.read_text()
    assert "Scenarios side by side" in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and page.count("<svg") == 1


def test_real_compare_folder_reads_the_price_of_fairness_as_hand_computed(tmp_path):
    """abatement = 200 / (1 + s): 142.857 t/yr at s = 0.4, 133.333 at s = 0.5, a loss of 9.52 t/yr (6.67 %)."""
    case_dir = write_case(tmp_path / "case", SHADOW_YAML + "scenarios: {strict: {justice: {vulnerable_share_min: 0.5}}}\n",
                          SHADOW_MUNIS, SHADOW_MEASURES)
    done = CliRunner().invoke(main, ["compare", str(case_dir), "--all", "--out", str(tmp_path / "cmp"), "-q", "-j", "1"])
    assert done.exit_code == 0, done.output
    page = mo.report(tmp_path / "cmp").read_text()
    assert "strict costs 9.52 tCO2/yr of abatement against base (6.7 % of its objective)." in page
    assert "<h1>Scenarios side by side: cmp</h1>" in page and page.count("<svg") == 2


# --- a real browser --------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.slow  # about 30 s: solves every example case (.ci/run runs it)
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs Debian's chromium)")
def test_reports_render_in_headless_chromium(tmp_path, hostile_result):
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    pages = [hostile_result / "report.html"]
    for name in EXAMPLE_CASES:
        done = CliRunner().invoke(main, ["solve", str(CASES / name), "--out", str(tmp_path / name), "-q", "--report"])
        assert done.exit_code == 0, done.output
        pages.append(tmp_path / name / "report.html")
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                        headless=True, args=FLAGS)
        try:
            for page_path in pages:
                page = browser.new_page()
                messages, requests, dialogs = [], [], []
                page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
                page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
                page.on("request", lambda r: requests.append(r.url))
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                page.goto(page_path.resolve().as_uri(), wait_until="load")
                assert messages == [] and dialogs == []
                assert requests == [page_path.resolve().as_uri()]  # nothing but the file itself
                assert page.locator("h1").count() == 1 and page.locator("svg").count() >= 3
                if page_path == pages[0]:  # the hostile municipality name shows as text, not markup
                    assert page.get_by_text(HOSTILE_MUNI, exact=True).count() >= 1
                    assert page.locator("img").count() == 0
                shot = tmp_path / f"{page_path.parent.name}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
                page.close()
        finally:
            browser.close()


def test_report_help_has_an_example():
    done = CliRunner().invoke(main, ["report", "--help"])
    assert done.exit_code == 0 and "Example: measureopt report" in done.output

"""The benchmark suite runs end to end on tiny sizes and reports every figure.

It checks the suite, not the speed: each section ran, on the same pages for
every system, and left its figures in the results (and in the table).
"""

from __future__ import annotations

import json

import pytest

from bench.run import Config, run, table

pytestmark = pytest.mark.slow


def test_the_quick_suite_reports_every_figure(tmp_path):
    cfg = Config(
        articles=30, per_page=10, latencies=(0,), concurrency=8,
        startup_sizes=(40,), startup_runs=2, repeat=1, baseline="HEAD",
    )  # fmt: skip
    said: list[str] = []
    results = run(cfg, say=said.append, work_root=tmp_path)
    results = json.loads(json.dumps(results))  # what is written is JSON

    backfill = results["backfill"]["0ms"]
    systems = ("ours", "ours_serial", "ours_one_process", "bare_scrapy", "sequential",
               "ours_at_baseline")  # fmt: skip
    for system in systems:
        figures = backfill[system]
        assert figures["wall_s"] > 0 and figures["cpu_s"] > 0 and figures["max_rss_mb"] > 0
        assert figures["items"] == backfill["ours"]["items"] >= 30, system  # the same pages
    assert backfill["ours"]["posts"] == backfill["sequential"]["posts"] == backfill["ours"]["items"]
    assert backfill["ratios"]["vs_sequential"] > 0 and backfill["ratios"]["vs_bare_scrapy"] > 0
    assert backfill["ratios"]["vs_ours_one_process"] > 0
    assert backfill["ratios"]["vs_ours_at_baseline"] > 0
    fetch_only = backfill["scrapy_fetch_only"]  # the same pages, nothing read from them
    assert fetch_only["items"] == 0
    assert fetch_only["requests"] == backfill["bare_scrapy"]["requests"]
    assert backfill["ours"]["replica_cpu_s"] >= 0
    floor = backfill["floor"]
    assert floor["cpu_parts_s"]["scrapy_fetch_only"] == fetch_only["cpu_s"]
    assert floor["floor_s"] == max(floor["network_s"], floor["cpu_s"]) > 0
    assert 0 < backfill["ours"]["process_cpu_s"] <= backfill["ours"]["cpu_s"]
    pipeline = backfill["ours"]["pipeline"]
    assert pipeline["items"] == backfill["ours"]["items"]
    assert 0 < pipeline["total"]["median_us"] <= pipeline["total"]["p99_us"]
    assert {"ValidatePipeline", "CleanPipeline", "WritePipeline"} <= set(pipeline["stages"])
    assert 0 < backfill["ours"]["listing_chain_share"] <= 1
    recrawl = backfill["recrawl"]
    assert recrawl["requests_by_kind"] == {"listing": 1, "robots": 1}  # nothing new
    assert backfill["replica_ceiling"]["connections_8"]["per_s"] > 0

    sizes = results["startup"]["sizes"]
    assert "40" in sizes
    for figures in sizes.values():
        assert figures["wall_s"] > 0 and figures["max_rss_mb"] > 0
        assert figures["requests_by_kind"] == {"listing": 1, "robots": 1}
        assert figures["first_start"]["wall_s"] > 0
    for tool in ("verify", "rotate"):
        figures = results["startup"]["tools"][tool]
        assert figures.get("missing") or figures["returncode"] == 0, figures

    text = table(results)
    assert "backfill 30 @ 0ms" in text and "start-up over 40 posts" in text
    assert "  ours at HEAD " in text
    assert f"  floor on {floor['cores']} core(s)" in text
    assert not list(tmp_path.iterdir()), "the work directory is removed"


def test_the_pipeline_bench_compares_with_a_baseline_and_checks_the_output(capsys):
    from bench import pipeline_cpu

    assert pipeline_cpu.main(["--baseline", "HEAD", "--articles", "40"]) == 0
    out = capsys.readouterr().out
    assert "baseline HEAD" in out and "this tree" in out
    ratios = next(line for line in out.splitlines() if line.startswith("ratio")).split()[1:]
    assert len(ratios) == 4 and all(float(r) > 0 for r in ratios)
    assert out.count("post files identical to the crawl's") == 2


def test_the_cleaner_comparison_finds_no_difference_with_itself(capsys):
    from bench import cleaner_same

    assert cleaner_same.main(["--baseline", "HEAD", "--fragments", "200"]) == 0
    out = capsys.readouterr().out
    # the test bodies, the replica's 2,000, the XSS vectors and 200 fragments, three ways each
    assert "0 differ from baseline HEAD's" in out
    assert int(out.split(" cleanings")[0].split()[-1]) > 3 * 2200


def test_the_cleaner_comparison_names_a_body_that_differs(capsys, monkeypatch):
    from bench import cleaner_same
    from crawler.cleaning.cleaner import BodyCleaner

    clean = BodyCleaner.clean
    monkeypatch.setattr(
        BodyCleaner, "clean", lambda self, html, *a: clean(self, html, *a).replace("昆明", "北京")
    )
    assert cleaner_same.main(["--baseline", "HEAD", "--fragments", "0"]) == 1
    out = capsys.readouterr().out
    assert "differs: " in out and "北京" in out


def test_a_baseline_git_cannot_export_is_one_line_naming_it(tmp_path):
    from bench.harness import export_tree

    with pytest.raises(SystemExit) as stopped:
        export_tree("no-such-revision", tmp_path / "baseline", "crawler")
    said = str(stopped.value)
    assert said.startswith("error: cannot export commit 'no-such-revision'") and "\n" not in said
    assert not list((tmp_path / "baseline").iterdir())


def test_the_scrapy_ceiling_fetches_every_page_once_over_its_engines(tmp_path):
    from bench import scrapy_ceiling

    cfg = scrapy_ceiling.parse_args(
        ["--articles", "30", "--per-page", "10", "--latency", "0", "--repeat", "1"]
    )
    results = scrapy_ceiling.run(cfg, say=lambda _: None, work_root=tmp_path)
    pages = results["pages"]
    assert pages == 30 + 3 and results["network_bound_s"] > 0
    runs = {(r["reactor"], r["engines"], r["mode"]): r for r in results["runs"]}
    assert set(runs) == {(reactor, engines, mode) for reactor in ("twisted", "none")
                         for engines in (1, 2) for mode in ("fetch", "parse")}  # fmt: skip
    for (reactor, engines, mode), r in runs.items():
        # each page once, and robots.txt once an engine
        assert r["responses"] == r["requests"] == pages + engines, (reactor, engines, mode)
        assert r["items"] == (pages if mode == "parse" else 0)
        assert r["wall_s"] > 0 and r["cpu_s"] > 0 and r["replica_cpu_s"] >= 0
    text = scrapy_ceiling.table(results)
    assert "1.4× it" in text and text.count(" fetch ") == 4
    assert not list(tmp_path.iterdir()), "the work directory is removed"

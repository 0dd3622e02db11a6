"""The HTML report on a small generated model table: content, escaping, and a real browser."""

from __future__ import annotations

import base64
import html
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_predict import world

from obsscale.config import (
    CapabilityConfig,
    Config,
    PredictConfig,
    ReportConfig,
    ReportTarget,
    load_config_file,
)
from obsscale.data import store
from obsscale.pipeline import fit_and_report as build_report

EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Config]:
    """A report of 80 synthetic models, one of them (and one family) named like an attack."""
    root = tmp_path_factory.mktemp("report")
    models = world().rename(columns={f"b{j}": f"s:b{j}" for j in range(6)})
    models = models.rename(columns={"target": "s:target"})
    models.loc[3, "model"] = EVIL
    models.loc[models["family"] == "F1", "family"] = '<img src=x onerror="alert(2)">'
    models["is_base"] = True
    models["tokens_t"] = np.nan
    cfg = Config(
        data_dir=root / "data",
        capabilities=CapabilityConfig(
            benchmarks=tuple(f"s:b{j}" for j in range(6)), n_components=2, reference_family="F0"
        ),
        predict=PredictConfig(n_bootstrap=40, n_starts=2),
        report=ReportConfig(targets=(ReportTarget("s:target", 0.0, 10**22.6),), dpi=60),
    )
    store.write_csv(cfg.processed_dir / "models.csv", models)
    store.write_csv(
        cfg.processed_dir / "quality.csv",
        pd.DataFrame(
            [
                {
                    "model": EVIL,
                    "field": "flops",
                    "value": "1",
                    "rule": "no_flops",
                    "source": "x",
                    "severity": "warning",
                    "detail": EVIL,
                }
            ]
        ),
    )
    index = build_report(cfg, root / "reports", progress=False)
    return index, cfg


def test_report_files(report: tuple[Path, Config]) -> None:
    index, _ = report
    out = index.parent
    assert (out / "fit.json").exists()
    assert (out / "predict-s-target.json").exists()
    assert not list(out.glob("*.part"))


def test_run_lists_the_frontier_artifact_and_the_report_says_it_is_absent(
    report: tuple[Path, Config],
) -> None:
    index, _ = report
    entry = store.read_json(index.parent / "run.json")["frontier"]
    assert entry["sha256"] == store.sha256_file(index.parent / entry["file"])
    assert "epoch_hub" in store.read_json(index.parent / "frontier.json")["skipped"]
    assert 'id="frontier"' in index.read_text()
    assert "No frontier section in this run" in index.read_text()


def test_untrusted_strings_are_escaped(report: tuple[Path, Config]) -> None:
    text = report[0].read_text()
    assert EVIL not in text
    assert '<img src=x onerror="alert(2)">' not in text
    assert html.escape(EVIL) in text  # shown as text, in the models and quality tables
    assert "&lt;img src=x onerror=" in text


def test_self_contained_with_every_section(report: tuple[Path, Config]) -> None:
    text = report[0].read_text()
    for anchor in ("summary", "factors", "curves", "backtests", "quality", "models"):
        assert f'id="{anchor}"' in text
    srcs = re.findall(r'<img src="([^"]+)"', text)
    assert len(srcs) >= 5  # scree, loadings, families, curve, back-test
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(https?:)?//', text)  # nothing fetched from the network
    assert "beat both compute-only baselines on 1 of 1 targets" in text


def test_unknown_target_is_refused_before_the_fit(
    report: tuple[Path, Config], tmp_path: Path
) -> None:
    from obsscale.exceptions import PredictError

    _, cfg = report
    with pytest.raises(PredictError, match=r"unknown target 's:nope': not a column of models\.csv"):
        build_report(cfg, tmp_path, targets=["s:target", "s:nope"], progress=False)
    assert not (tmp_path / "run.json").exists()


def test_config_file_sets_report_targets(tmp_path: Path) -> None:
    path = tmp_path / "obsscale.toml"
    path.write_text(
        '[predict]\nn_bootstrap = 10\n[[report.targets]]\ncolumn = "a:b"\n'
        "chance = 0.25\ncutoff_flops = 1e23\n"
    )
    cfg = load_config_file(path, Config())
    assert cfg.predict.n_bootstrap == 10
    assert cfg.report.targets == (ReportTarget("a:b", 0.25, 1e23),)
    path.write_text("[predict]\nbootstraps = 10\n")
    with pytest.raises(ValueError, match=r"\[predict\] unknown key 'bootstraps' \(known: method"):
        load_config_file(path, Config())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[predict]\nn_bootstrap = "many"\n', "n_bootstrap = 'many': expected a whole number"),
        ("[predict]\nn_bootstrap = 2.5\n", r"n_bootstrap = 2.5: expected a whole number"),
        (
            '[capabilities]\nbenchmarks = "obsscaling:MMLU"\n',
            "benchmarks = 'obsscaling:MMLU': expected a list",
        ),
        (
            '[[report.targets]]\ncolumn = "a:b"\nchanse = 0.2\n',
            r"entry 1 unknown key 'chanse' \(known: column, chance",
        ),
        ("[plots]\n", r"unknown section \[plots\]"),
    ],
)
def test_config_file_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_config_file(path, Config())


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


# what the Chromium test measures on the page, at 1,400 x 900 px
PAGE_PROBE = """() => {
  const top = s => document.querySelector(s).getBoundingClientRect().top + window.scrollY;
  const headline = document.querySelector("ul.headline").getBoundingClientRect().bottom;
  const fc = document.querySelector("#forecasts ~ figure, #forecasts ~ table");
  return {
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
    images: Array.from(document.images).map(i => i.complete && i.naturalWidth > 0),
    // [text, in the frontier section?] (its intervals are its own bootstrap's)
    captions: Array.from(document.querySelectorAll("figcaption")).map(c => [c.textContent,
      !!(document.querySelector("#frontier").compareDocumentPosition(c) & 4)]),
    headlineBottom: headline + window.scrollY,
    forecastsTop: top("#forecasts"),
    forecastBodyTop: fc ? fc.getBoundingClientRect().top + window.scrollY : null,
    screen: window.innerHeight,
  };
}"""


def browse(index: Path) -> tuple[dict[str, object], list[str]]:
    """Open the report in headless Chromium at 1,400 px; what ``PAGE_PROBE`` measured there, and
    every console error, page error or dialog (an injected script that ran)."""
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium found (apt-get install chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=browser,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = b.new_page(viewport={"width": 1400, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: errors.append(f"dialog opened: {d.message}"))
        page.goto(index.as_uri())
        # unfold the appendices: the audit table must not scroll the page sideways either
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        probe = page.evaluate(PAGE_PROBE)
        shot = index.parent / "screenshot-test-report.png"  # a temporary folder, not the checkout
        page.screenshot(path=str(shot), full_page=False)
        b.close()
    assert shot.stat().st_size > 10_000
    return probe, errors


def check_page(index: Path, methods: list[str]) -> None:
    """What a reader sees: no horizontal scroll, every image loaded, the forecasts within the
    first screen after the headline findings, and every caption that shows intervals naming
    the method the run used (``methods``: read from the run's artifacts)."""
    probe, errors = browse(index)
    assert errors == []  # no console errors, and the injected alert() never ran
    assert probe["scrollWidth"] <= probe["clientWidth"] <= 1400
    images = probe["images"]
    assert isinstance(images, list) and images and all(images)
    body, screen = probe["forecastBodyTop"], probe["screen"]
    assert isinstance(body, float | int) and isinstance(screen, int)
    assert probe["forecastsTop"] < screen  # type: ignore[operator]
    assert body < probe["headlineBottom"] + screen  # type: ignore[operator]
    captions = probe["captions"]
    assert isinstance(captions, list)
    shown = [(" ".join(c.split()), f) for c, f in captions if "interval" in c or "band" in c]
    main = [c for c, frontier in shown if not frontier and not c.startswith("Forecasts")]
    assert main
    for caption in main:
        assert any(m in caption for m in methods), caption
    for caption in (c for c, frontier in shown if frontier):  # each names its own method
        assert "bootstrap" in caption or "Laplace" in caption, caption


def interval_methods(out: Path) -> tuple[list[str], str]:
    """The back-tests' interval rules and the forecasts' method, as the artifacts record them."""
    rules = set()
    for path in out.glob("predict-*.json"):
        d = store.read_json(path)
        if d.get("choices"):
            rules |= {c["interval"]["rule"] for c in d["choices"].values()}
        else:
            rules.add("bootstrap")
    from obsscale.report.wording import FORECAST_INTERVALS

    forecast = FORECAST_INTERVALS[store.read_json(out / "forecast.json")["settings"]["method"]]
    return sorted(rules), forecast


def test_renders_in_headless_chromium(report: tuple[Path, Config]) -> None:
    index = report[0]
    rules, forecast = interval_methods(index.parent)
    assert len(rules) == 1 and "bootstrap" not in rules  # the default method's own rule
    check_page(index, rules)
    text = " ".join(html.unescape(index.read_text()).split())
    assert f"Intervals: {forecast}" in text  # the forecasts' caption names theirs


def test_figures_drawn_in_forked_workers_equal_serial(report: tuple[Path, Config]) -> None:
    from obsscale.data.table import load_models
    from obsscale.pipeline import load_run
    from obsscale.report import html

    index, cfg = report
    run = load_run(index.parent)
    models = load_models(cfg)
    out = []
    for workers in (1, 2):
        sections = [html.TargetSection(t, r, e) for t, r, e in run.targets]
        figs = html._figures(run.fit, run.fit.spectrum_ratio, models, sections, 40, workers)
        out.append((figs, [(s.curve_png, s.backtest_png) for s in sections]))
    assert out[0] == out[1]
    assert set(out[0][0]) == {"scree", "loadings", "families"}
    assert all(png for pair in out[0][1] for png in pair)


def test_report_process_imports_no_scikit_learn(
    report: tuple[Path, Config], tmp_path: Path
) -> None:
    """``obsscale report`` reads the fit's arrays; scikit-learn (0.6 s of imports) stays out, and
    so does scipy.special (0.2 s): the efficiency answer's t quantile is taken by the fit."""
    index, cfg = report
    shutil.copytree(index.parent, tmp_path / "reports")
    (tmp_path / "config.pickle").write_bytes(pickle.dumps(cfg))
    code = (
        "import pickle, sys; from pathlib import Path; from obsscale.pipeline import run_report; "
        f"cfg = pickle.loads(Path({str(tmp_path / 'config.pickle')!r}).read_bytes()); "
        f"run_report(cfg, Path({str(tmp_path / 'reports')!r})); "
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn' "
        "or m.startswith('scipy.special')); "
        "sys.exit(f'imported {loaded[:3]}' if loaded else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def section_numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r'<h2 id="[^"]+">(\d+)\. ', text)]


def test_sections_in_reading_order_numbered_without_gaps(report: tuple[Path, Config]) -> None:
    text = report[0].read_text()
    order = [text.index(f'id="{a}"') for a in ("summary", "forecasts", "trust", "factors")]
    assert order == sorted(order)
    numbers = section_numbers(text)
    assert numbers == list(range(1, len(numbers) + 1))
    assert "Forecasts with 90% prediction intervals" in text  # the figure, not only a table
    for appendix in ("sources", "settings", "quality", "models"):  # folded
        assert re.search(rf'<details class="appendix" id="{appendix}">', text)


def test_readme_lists_the_report_sections_in_order(report: tuple[Path, Config]) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The report", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\d+\. \*\*([^*]+)\*\*", section, re.M)
    shown = re.findall(r'<h2 id="[^"]+">\d+\. ([^<(]+)', report[0].read_text())
    assert [s.strip() for s in shown] == [s.split(" (")[0].strip() for s in listed]


def test_model_names_on_hover_are_escaped_svg_titles(report: tuple[Path, Config]) -> None:
    text = report[0].read_text()
    titles = re.findall(r"<circle [^>]*><title>([^<]*)</title></circle>", text)
    assert "org0/m3" in titles or any(t.startswith("org") for t in titles)
    assert html.escape(EVIL) in titles  # the attack's name, as text
    assert not re.search(r"\d\.\d{9,}", text)  # no raw floats such as 0.16399999999999998


def test_paper_method_captions_say_bootstrap(report: tuple[Path, Config]) -> None:
    from obsscale.pipeline import load_run
    from obsscale.report import wording

    run = load_run(report[0].parent)
    result = run.targets[0][1]
    assert result is not None and result.choices
    assert wording.interval_method(result).startswith(result.choices["pc"]["interval"]["rule"])
    result.choices = None
    result.settings["predict"] = result.settings["predict"] | {"method": "paper"}
    assert wording.interval_method(result).startswith("bootstrap (40 resamples")
    assert wording.method_name(result) == "the paper's method"
    assert "paper's predictor" in wording.curve_band(result)


def test_predictor_sentence_says_what_a_flat_training_side_did() -> None:
    """The report's description of the default's predictor names the flat-side rule the
    choice records, and says nothing of one where none acted."""
    from types import SimpleNamespace

    from obsscale.report import wording

    member = {"inputs": "pc", "form": "sigmoid", "ridge": 0.0, "weight": 1.0}
    choice = {"members": [member], "anchor_weight": 1.0, "interval": {"rule": "r"}}
    said = {
        rule: wording.predictor_sentence(
            SimpleNamespace(choices={"pc": choice | {"flat_side": rule}}, chance=0.0)
        )
        for rule in (None, "hedge", "paper")
    }
    assert "flat" not in said[None]
    assert "log-FLOPs takes at least half" in said["hedge"]
    assert "the factors alone" in said["paper"]


@pytest.mark.mirror
def test_report_answers_predictability_and_efficiency(report: tuple[Path, Config]) -> None:
    """The trust table's verdict column and the efficiency section's answer, as the CLI says
    them (``PredictionResult.verdict``, ``rank_efficiency``)."""
    from obsscale.io.run import load_run
    from obsscale.model.capabilities.ranking import rank_efficiency

    text = " ".join(html.unescape(report[0].read_text()).split())
    run = load_run(report[0].parent)
    ((_, result, _),) = run.targets
    verdict = result.verdict()
    assert '<th rowspan="2">predictable?</th>' in text
    assert f"<b>{verdict.level}</b>: {verdict.reason}" in text
    headline = rank_efficiency(run.fit).headline()
    assert f"<b>M{headline[1:]}</b>" in text


def test_real_report_reads_as_forwarded(mirror_data: Path, tmp_path: Path) -> None:
    """The report of the mirror's data: small enough to mail, numbered sections, and (with
    Chromium) no sideways scroll with every appendix open, at 1,400 px."""
    cfg = Config(data_dir=mirror_data)
    index = build_report(cfg, tmp_path, progress=False)
    text = index.read_text()
    assert index.stat().st_size < 1_500_000
    assert not re.search(r"\d\.\d{9,}", text)
    numbers = section_numbers(text)
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 7
    assert "past (decades)" not in text and "within range" in text
    rules, forecast = interval_methods(tmp_path)
    assert f"Intervals: {forecast}" in " ".join(html.unescape(text).split())
    check_page(index, rules)

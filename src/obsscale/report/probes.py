"""The probe-set back-test (``model.design.probe_backtest``) as an HTML table for the report's
frontier section: per half and K, the mean MAE (points) of the designed, random and most
common probe sets. Every string from the result is escaped (the choice's label comes from the
run, half names from the data)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from obsscale.model.design.probe_backtest import backtest_frame

COLUMNS = (
    ("half", "half"),
    ("budget", "K"),
    ("models", "models"),
    ("chosen", "designed"),
    ("random", "random (median of draws)"),
    ("common", "most common"),
    ("none", "none revealed"),
    ("beats_random_share", "designed < random"),
)


def _cell(key: str, value: Any) -> str:
    if key in ("chosen", "random", "common", "none"):
        return f"{float(value):.2f}"
    if key == "beats_random_share":
        return f"{float(value):.0%}"
    return escape(str(value))


def probe_table_html(result: Mapping[str, Any]) -> str:
    """A ``<table>`` of the back-test (MAE in points on each held-out model's other cells),
    captioned with the design half's choice; empty when the run skipped it."""
    if "table" not in result:
        return ""
    frame = backtest_frame(result)
    head = "".join(f"<th>{escape(label)}</th>" for _, label in COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(k, r[k])}</td>" for k, _ in COLUMNS) + "</tr>"
        for r in frame.to_dict(orient="records")
    )
    caption = escape(
        f"Which benchmarks to run next: MAE (points) on a held-out model's other hub scores "
        f"after K revealed ones; chosen on the design half: {result.get('choice', '')}"
    )
    return (
        f'<table class="probes"><caption>{caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )

"""The completion-accuracy table (one row per method; ``model.completion.protocol``'s
``accuracy_table``) as an HTML fragment for the report's frontier section. Every string is
escaped: method and candidate names are ours, but the page never trusts what it prints."""

from __future__ import annotations

import html
from numbers import Real

import numpy as np
import pandas as pd


def _cell(value: object) -> str:
    if isinstance(value, Real) and not isinstance(value, bool):
        v = float(value)
        return "–" if not np.isfinite(v) else f"{v:.3g}" if abs(v) < 1 else f"{v:.2f}"
    return html.escape(str(value))


def completion_table_html(table: pd.DataFrame, caption: str | None = None) -> str:
    """``table`` as ``<table>`` with a header row and an optional caption."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    body = f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>"
    return f'<table class="completion">{cap}{body}</table>'

"""The completion slice of the bench: ``model.completion.protocol`` on the Epoch hub matrix
(per model 3 folds of its observed cells, 10 seeds; every method's choices made inside each
training fold), as JSON and a Markdown section."""

from __future__ import annotations

from typing import Any

from obsscale.model.completion.protocol import completion_protocol

__all__ = ["completion_markdown", "completion_protocol"]


def completion_markdown(result: dict[str, Any]) -> str:
    """The bench summary's section."""
    from obsscale.bench.summary import markdown_table

    cols = ["method", "medae_points", "medape", "coverage_90", "width_points", "folds"]
    return "\n".join(
        [
            f"### Completion ({result['protocol']}; {result['models']} models x "
            f"{result['benchmarks']} benchmarks, {result['cells']} cells)",
            "",
            markdown_table(result["methods"], cols),
            "",
            f"best / rank-1 PCA MedAE: {result['best_vs_rank1_pca']:.3f} "
            f"({result['seconds']:.0f} s)",
            "",
        ]
    )

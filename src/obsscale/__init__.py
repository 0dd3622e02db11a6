"""obsscale: observational scaling laws for language-model benchmarks.

Stages, one module each: ``fetch`` (download), ``harmonize`` (one table per model),
``capabilities`` (PCA factors and per-family compute scaling), ``predict`` (sigmoid regression
with back-tests) and ``report`` (HTML). ``config`` holds every setting.
"""

__version__ = "0.1.0"

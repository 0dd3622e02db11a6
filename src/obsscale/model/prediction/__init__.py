"""Prediction: from capabilities to a downstream metric (links, fits, intervals, back-tests)."""

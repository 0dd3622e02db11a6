"""Forecasts: family lines and planned models pushed through the fitted predictor."""

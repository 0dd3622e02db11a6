"""Downstream prediction: the one predictor, its methods, and the records its harnesses share."""

"""Capabilities: the factors behind public benchmark scores (imputation, PCA, families, fit)."""

"""Design: which models to evaluate next (optimal subset selection)."""

"""Datasets: versions, uploads, comparisons and row annotations."""

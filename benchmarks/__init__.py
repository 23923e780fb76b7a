"""Benchmarks: each prints its figures and ratios against a peer run in the same script."""

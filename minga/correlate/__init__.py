"""Correlation: the observable index, sightings, scores and exports."""

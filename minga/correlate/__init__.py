"""Correlation: the observable index, look-ups, sightings, scores and exports."""

"""Demo community data."""

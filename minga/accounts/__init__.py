"""Organisations, users, API tokens and sharing groups."""

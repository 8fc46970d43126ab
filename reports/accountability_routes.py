"""Placeholder."""

routes: list = []

"""Participation tracking, action plans and accountability reports."""

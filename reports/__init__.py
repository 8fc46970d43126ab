"""Participation tracking, action plans and indicators, dashboards, accountability report."""

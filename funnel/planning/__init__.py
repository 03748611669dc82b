"""Reverse KPI planning and targets."""

"""Exports for people outside the programme (analysts), read only."""

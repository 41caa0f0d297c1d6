"""Consent per customer and channel, with the history that proves it."""

"""Agents (skills, languages, capacity, availability) and the fair assignment of a queue's tickets to them."""

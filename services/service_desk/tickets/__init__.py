"""Tickets: a customer's questions and problems, from new to solved and closed."""

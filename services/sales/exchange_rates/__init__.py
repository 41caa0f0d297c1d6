"""Dated exchange rates per tenant: what one unit of a base currency is worth in a quote currency from a day on."""

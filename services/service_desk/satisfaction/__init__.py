"""Satisfaction: a CSAT request on each resolution, answered once (also by a signed link), and the service figures (CSAT, response and resolution times, breach rates)."""

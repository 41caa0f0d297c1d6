"""SLA policies and business calendars, and each ticket's SLA clock: due times computed from its history, warnings, breaches and escalations."""

"""Pipeline stages: each tenant's ordered stages, their win probability, forecast category and outcome."""

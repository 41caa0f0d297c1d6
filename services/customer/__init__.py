"""The customer service: the customer master, its classification and the unified customer view."""

"""Request and response bodies of the customer service: ``customers`` (the master) and ``view``."""

"""Every query of the customer service (``customers``, ``view``), and nothing else queries its tables."""

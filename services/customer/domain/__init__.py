"""The customer service's rules: the customer master (``customers``) and the unified view (``view``)."""

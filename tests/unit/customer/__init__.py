"""Unit tests of the customer service, one module per feature."""

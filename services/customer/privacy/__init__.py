"""The customer's privacy rights: erasure everywhere and export of everything held."""

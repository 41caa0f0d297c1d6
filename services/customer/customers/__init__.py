"""The customer master: persons and organizations, their contact points and hierarchy, and search."""

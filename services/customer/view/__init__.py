"""The unified customer view: built from every service's events, read with read-your-writes, and its timeline."""

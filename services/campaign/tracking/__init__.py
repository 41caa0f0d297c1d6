"""Tracked links, open pixels and one-click unsubscribes (``/t/{token}``): signed, no login, each turned into
the campaign response it is."""

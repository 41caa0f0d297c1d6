"""Routing: sales teams with their members, the ordered rules that choose a team for a lead, and how a team
hands its leads out (round-robin or least-loaded, within each member's capacity, queued when nobody can take one)."""

"""Queues and the routing rules that choose a ticket's queue."""

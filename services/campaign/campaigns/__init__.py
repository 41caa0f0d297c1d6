"""Campaigns and their members: the customers a campaign targets, from draft to completed."""

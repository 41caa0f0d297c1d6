"""Leads: people and companies that may become customers, never lost and never doubled.

A lead is created by the API, by a bulk import or from a campaign response; each is
de-duplicated against open leads and the customers of the view replica, scored with
explainable points and routed to a team and an owner (``services.sales.routing``).
"""

"""Opportunities: deals with a customer, moving through the pipeline's stages until won or lost."""

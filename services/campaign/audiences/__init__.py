"""Audiences: rules over the unified view and static lists, their membership kept current by view versions."""

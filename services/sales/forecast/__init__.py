"""The sales forecast: open and won deals per period and owner, team or region, in one reporting currency."""

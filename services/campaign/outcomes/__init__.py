"""What sales made of the customers, copied from the sales service's events: leads (with the campaign whose
response made them), opportunities (with their amount and whether and when they were won) and the dated
exchange rates. The campaign report attributes them to the campaigns that touched each customer; the
simulation learns its rates from them."""

"""Campaign responses: what a customer did with a campaign (opened, clicked, replied, registered,
unsubscribed, converted), recorded and announced for the unified view and for sales."""

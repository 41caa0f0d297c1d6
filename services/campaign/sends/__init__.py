"""Campaign sends: each member's message, recorded before it leaves, checked for consent as it leaves, sent
once (e-mail over SMTP; SMS and phone lists through a pluggable sender), throttled per tenant; bounces."""

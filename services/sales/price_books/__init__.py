"""Price books: unit prices per currency, optionally per customer group and value tier, valid for a period."""

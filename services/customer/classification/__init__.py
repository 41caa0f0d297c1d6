"""Classification: customer groups from tenant rules, value tiers from sales figures and lifetime value."""

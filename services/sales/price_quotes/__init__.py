"""Price quotes: the price of each line for a customer on a day, chosen from the tenant's price books, with why."""

"""What the profiles say about each figure below target: included in latest.md when that figure misses.

Written from py-spy profiles of the customer service under the same load
(`crm bench <scenario> --profile` records them again and adds their summary).
"""

NOTES: dict[str, str] = {}

"""A campaign's report: how many it reached and how they responded, and the leads, opportunities and won
revenue sales made of its customers, attributed to the campaigns that touched them (first touch, last
touch or linear), against what it cost, per variant and per value tier."""

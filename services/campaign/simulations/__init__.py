"""A campaign's simulation before money is spent: who would remain after consent and the frequency caps, and
what they would bring (responses, leads, opportunities, won revenue) at the tenant's own rates per value
tier and channel; the plan as it stands and up to three alternatives (another audience, channel or
budget), compared in one answer."""

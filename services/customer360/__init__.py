"""Customer-360: profiles, identities, assets, timeline, value tier and anomalies."""

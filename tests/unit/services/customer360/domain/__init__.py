"""Customer-360 domain: value and anomaly detection as specifications."""

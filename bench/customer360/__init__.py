"""Customer-360 benchmarks: detection.py (the anomaly detectors' precision, recall and speed on synthetic
customers) and view.py (the customer view at scale)."""

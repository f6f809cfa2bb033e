"""Customer-360 tests."""

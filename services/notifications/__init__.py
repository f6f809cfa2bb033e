"""Notifications: templates, channels, preferences, delivery tracking and live feeds."""

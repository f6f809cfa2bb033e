"""Routing: workers, skills, queues, offers and the dispatch of technicians."""

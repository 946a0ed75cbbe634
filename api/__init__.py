"""Tier Zero's HTTP service (FastAPI): the widget, agent and editor endpoints, static pages and the action webhook."""

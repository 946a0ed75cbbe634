"""The Rasa assistant: domain, endpoints and the custom actions that call the knowledge base and handoff engine."""

"""Tier Zero's custom Rasa actions (rasa-sdk), hosted by the API's /webhook."""

"""Keeping customers' secrets out of storage: redaction applied before any message is stored or forwarded."""

from privacy.redact import Redaction, redact

__all__ = ["Redaction", "redact"]

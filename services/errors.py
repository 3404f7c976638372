"""Typed errors the services raise for people: each names the record and field and says what to do."""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected failure, printed as one line by the CLI and shown as a message by the web desk."""


class NotFound(UserFacingError):
    """A record named by the user does not exist (or belongs to a tenant the user cannot see)."""


class ValidationFailed(UserFacingError):
    """Input broke a rule; the message names the record, the field and the rule."""


class NotAllowed(UserFacingError):
    """The user's role or tenant does not allow the action (four-eyes, desk approving, other tenant)."""


class Misconfigured(UserFacingError):
    """config.yaml (or an environment variable it names) does not allow the action; the CLI exits with its
    configuration code, so a script can tell a wrong setup from bad input."""


class NotConfigured(Misconfigured, NotFound):
    """A tenant, source or ERP target named by the user is not in config.yaml."""


class BadSetting(Misconfigured, ValidationFailed):
    """A setting the action needs is missing or unusable: an ERP's credentials, a secret's environment variable."""


class NotAvailableYet(UserFacingError):
    """A command whose feature has not landed yet: says so instead of faking a result."""


class NotSignedIn(UserFacingError):
    """No valid credentials: not signed in, a wrong password, an expired or revoked session or token, a locked name."""


class InvalidFields(ValidationFailed):
    """Input broke rules on named form fields: ``fields`` maps each field to a plain sentence a form shows next to
    it; the message (CLI, logs) names the record and each field."""

    def __init__(self, record: str, fields: dict[str, str]) -> None:
        super().__init__(f"{record}: " + "; ".join(f"{name}: {sentence}" for name, sentence in fields.items()))
        self.record, self.fields = record, dict(fields)

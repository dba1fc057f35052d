"""Errors of the embedded engine."""

from __future__ import annotations

from moto.cloudformation.exceptions import ValidationError as _MotoValidationError


class ValidationError(_MotoValidationError):
    """A request CloudFormation would reject before starting (answered as HTTP 400 ValidationError)."""

    def __init__(self, message: str):
        super().__init__(message=message)


class ResourceFailure(Exception):  # noqa: N818 - a failed resource, as CloudFormation reports it
    """A resource operation failed; the message becomes the event's ResourceStatusReason."""


class UpdateRefused(ResourceFailure):
    """An update refused before anything changed: the resource still has its previous properties, so
    a rollback has nothing to update back."""

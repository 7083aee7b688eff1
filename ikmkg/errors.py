"""Typed errors that carry their HTTP status; one handler in ikmkg.web.errors renders them."""

from __future__ import annotations


class IkmkgError(Exception):
    """An error meant for the user: a message and the HTTP status that fits it."""

    status = 500

    def __init__(self, message: str, status: int | None = None, *, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = headers or {}


class QueryError(IkmkgError):
    """The SPARQL request is malformed or asks for something the endpoint refuses."""

    status = 400


class NotFound(IkmkgError):
    status = 404


class NotAcceptable(IkmkgError):
    status = 406


class RequestTimeout(IkmkgError):
    """The request body did not arrive in time (ikmkg.web.transport)."""

    status = 408


class PayloadTooLarge(IkmkgError):
    status = 413


class TooManyRequests(IkmkgError):
    status = 429


class QueryTimeout(IkmkgError):
    """A query ran past its time limit and was stopped."""

    status = 503


class BackendUnavailable(IkmkgError):
    status = 503


class MemoryLimitExceeded(BackendUnavailable):
    """A query needed more memory than the engine allows a query (setting engine_memory)."""

    status = 507


class DataError(IkmkgError):
    """The ontology, shapes or data cannot be loaded (syntax) or do not conform."""

    status = 500

"""Application errors and their HTTP rendering.

Services raise these; the handlers installed by `server.create_app` turn them into
`{"error": {"code", "message", "fields"}}` under /api/ and into friendly French pages
elsewhere. A user never sees a stack trace.
"""

from __future__ import annotations

from typing import Any

from core.i18n import _


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        status_code: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message()
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.fields = fields or {}
        self.extra = extra or {}
        super().__init__(self.message)

    def default_message(self) -> str:
        return _("La requête n'a pas pu être traitée.")

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return {"error": body}


class NotAuthenticated(AppError):
    status_code = 401
    code = "not_authenticated"

    def default_message(self) -> str:
        return _("Veuillez vous connecter pour continuer.")


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"

    def default_message(self) -> str:
        return _("Vous n'avez pas accès à cette page ou à cette action.")


class NotFound(AppError):
    status_code = 404
    code = "not_found"

    def default_message(self) -> str:
        return _("Cette page ou cette ressource n'existe pas.")


class Conflict(AppError):
    status_code = 409
    code = "conflict"

    def default_message(self) -> str:
        return _("Cette action entre en conflit avec l'état actuel des données.")


class ValidationFailed(AppError):
    status_code = 422
    code = "validation_error"

    def default_message(self) -> str:
        return _("Certains champs sont invalides.")


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"

    def default_message(self) -> str:
        return _("Le contenu envoyé est trop volumineux.")


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(message, extra={"retry_after": self.retry_after})

    def default_message(self) -> str:
        return _(
            "Trop de tentatives. Veuillez réessayer dans %(seconds)s secondes.",
            seconds=self.retry_after,
        )

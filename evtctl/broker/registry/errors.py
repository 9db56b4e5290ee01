"""Confluent Schema Registry error answers: HTTP status plus ``{"error_code": ..., "message": ...}``.

The codes and message wording follow Confluent's ``io.confluent.kafka.schemaregistry.rest.exceptions.Errors``
so that clients which match on ``error_code`` (all of them) behave the same against this registry.
"""

from __future__ import annotations

from typing import Any


class RegistryHTTPError(Exception):
    """An error answer; raised anywhere below the HTTP layer and rendered by it."""

    def __init__(self, status: int, error_code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error_code": self.error_code, "message": self.message}


def subject_not_found(subject: str) -> RegistryHTTPError:
    return RegistryHTTPError(404, 40401, f"Subject '{subject}' not found.")


def version_not_found(version: object) -> RegistryHTTPError:
    return RegistryHTTPError(404, 40402, f"Version {version} not found.")


def schema_not_found(what: object = None) -> RegistryHTTPError:
    return RegistryHTTPError(404, 40403, "Schema not found" if what is None else f"Schema {what} not found")


def subject_soft_deleted(subject: str) -> RegistryHTTPError:
    return RegistryHTTPError(
        404, 40404, f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
    )


def subject_not_soft_deleted(subject: str) -> RegistryHTTPError:
    return RegistryHTTPError(
        404, 40405, f"Subject '{subject}' was not deleted first before being permanently deleted"
    )


def version_soft_deleted(subject: str, version: int) -> RegistryHTTPError:
    return RegistryHTTPError(
        404,
        40406,
        f"Subject '{subject}' Version {version} was soft deleted.Set permanent=true to delete permanently",
    )


def version_not_soft_deleted(subject: str, version: int) -> RegistryHTTPError:
    return RegistryHTTPError(
        404,
        40407,
        f"Subject '{subject}' Version {version} was not deleted first before being permanently deleted",
    )


def subject_compat_not_configured(subject: str) -> RegistryHTTPError:
    return RegistryHTTPError(
        404, 40408, f"Subject '{subject}' does not have subject-level compatibility configured"
    )


def subject_mode_not_configured(subject: str) -> RegistryHTTPError:
    return RegistryHTTPError(404, 40409, f"Subject '{subject}' does not have subject-level mode configured")


def incompatible(message: str) -> RegistryHTTPError:
    return RegistryHTTPError(409, 409, message)


def invalid_schema(message: str) -> RegistryHTTPError:
    return RegistryHTTPError(422, 42201, message)


def invalid_version(version: object) -> RegistryHTTPError:
    return RegistryHTTPError(
        422,
        42202,
        f"The specified version '{version}' is not a valid version id. Allowed values are between "
        '[1, 2^31-1] and the string "latest"',
    )


def invalid_compatibility_level(level: object) -> RegistryHTTPError:
    return RegistryHTTPError(
        422,
        42203,
        f"Invalid compatibility level {level!r}. Valid values are none, backward, forward, full, "
        "backward_transitive, forward_transitive, and full_transitive",
    )


def invalid_mode(mode: object) -> RegistryHTTPError:
    return RegistryHTTPError(
        422,
        42204,
        f"Invalid mode {mode!r}. Valid values are READWRITE, READONLY, READONLY_OVERRIDE, and IMPORT.",
    )


def operation_not_permitted(message: str) -> RegistryHTTPError:
    return RegistryHTTPError(422, 42205, message)


def reference_exists(message: str) -> RegistryHTTPError:
    return RegistryHTTPError(422, 42206, message)


def id_does_not_match(message: str) -> RegistryHTTPError:
    return RegistryHTTPError(422, 42207, message)


def invalid_subject(subject: str) -> RegistryHTTPError:
    return RegistryHTTPError(422, 42208, f"The specified subject '{subject}' is not a valid.")


def unprocessable(message: str) -> RegistryHTTPError:
    """A well-formed JSON body with a wrong field type (Jackson's mapping error in Confluent)."""
    return RegistryHTTPError(422, 422, message)


def store_error(message: str) -> RegistryHTTPError:
    return RegistryHTTPError(500, 50001, f"Error in the backend data store - {message}")

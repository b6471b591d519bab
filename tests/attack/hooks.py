"""Checks schemathesis applies to every response of the GraphQL API.

GraphQL answers HTTP 200 even when a resolver fails, so "not a server error" must also look
inside the body: an INTERNAL error, or an error without a contract code, is a failure.
"""

import schemathesis

CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "RATE_LIMITED",
    "GRAPHQL_VALIDATION_FAILED",
}


@schemathesis.check
def no_internal_errors(ctx, response, case):
    """Every error carries a contract code, and none is INTERNAL."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError("the answer is not JSON")
    errors = body.get("errors") if isinstance(body, dict) else None
    for error in errors or []:
        code = (error.get("extensions") or {}).get("code")
        if code not in CODES:
            raise AssertionError(f"error with code {code!r}: {error.get('message')!r}")

"""How django-axes names the login an attempt was for (AXES_USERNAME_CALLABLE)."""

# AccessAttempt.username holds at most this much; a longer "email" is junk, but must not break
# the login page (PostgreSQL refuses an over-long value instead of cutting it).
MAX_LENGTH = 255


def login_name(request, credentials):
    """The email address as the login compares it (any letter case, no surrounding spaces), so
    that typing it in another case does not start a fresh count of failures."""
    if credentials and credentials.get("username") is not None:
        value = credentials["username"]
    else:
        value = getattr(request, "POST", {}).get("username")
    return value.strip().lower()[:MAX_LENGTH] if isinstance(value, str) else None

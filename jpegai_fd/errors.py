"""The one exception type a user can cause."""


class UserError(Exception):
    """A problem the user can fix: one sentence naming the key or file and the fix, printed as one line."""


class Incompatible(UserError):
    """Settings of two components that cannot run together: a rule one of them declares."""


def check_int(key: str, value, low: int, nullable: bool = False, hint: str = "") -> None:
    """UserError naming ``key`` unless ``value`` is an int >= ``low`` (or None when ``nullable``)."""
    if (value is not None or not nullable) and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        hint += " or null" if nullable else ""
        raise UserError(f"invalid value for '{key}': {value!r}; it must be an integer >= {low}{hint}")

"""The one exception type a user can cause."""


class UserError(Exception):
    """A problem the user can fix: one sentence naming the key or file and the fix, printed as one line."""


class Incompatible(UserError):
    """Settings of two components that cannot run together: a rule one of them declares."""

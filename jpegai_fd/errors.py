"""The one exception type a user can cause."""


class UserError(Exception):
    """A problem the user can fix: the message is one sentence naming the key or file and the fix.

    Entry points print it as a single line instead of a traceback."""


class Incompatible(UserError):
    """Settings of two components that cannot run together: a rule one of them declares."""

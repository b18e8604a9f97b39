"""The one exception type a user can cause."""


class UserError(Exception):
    """A problem the user can fix: the message is one sentence naming the key or file and the fix.

    Entry points print it as a single line instead of a traceback.
    """

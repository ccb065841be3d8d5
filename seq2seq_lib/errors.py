"""One-line, actionable errors for bad input (the CLI prints them without a traceback)."""


class UserError(Exception):
    """A problem the user can fix; the message names the problem and the fix in one line."""

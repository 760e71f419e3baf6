"""The one exception type a user can fix: a bad file, a bad param, no network.

Modules raise `UserError` with one line that names the file or key and what was expected;
`cli.run` prints that line and exits non-zero. Any other exception is a bug and keeps its
traceback.
"""


class UserError(Exception):
    """Something the user can fix: printed as one line, without a traceback."""

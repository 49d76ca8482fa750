"""Exceptions whose message is meant for the user as is (the CLI prints it and exits non-zero)."""


class UserError(Exception):
    """Bad arguments or input: printed as 'error: <message>' with exit code 2."""

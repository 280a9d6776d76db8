"""Errors a user can fix: the command line prints them as one line and exits with code 2."""


class UserError(Exception):
    """Bad input (data, configuration or arguments), explained in one line."""


class GateFailed(Exception):
    """The model did not beat the dummy baseline by the configured margin."""

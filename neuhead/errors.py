"""Exceptions the CLI turns into one clear line and a non-zero exit."""


class InputError(ValueError):
    """Bad user input: the message names the file and what is wrong with it."""

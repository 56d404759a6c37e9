"""The one exception type that carries a user-facing message.

Every check of user input (config, probe files, survey file, corpora, models) raises
:class:`InputError` with a message naming the file, the row or key, and what is wrong;
the command line prints that message alone, without a traceback.
"""


class InputError(ValueError):
    """Bad input from the user, explained in the message."""

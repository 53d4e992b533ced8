"""The one base class of the errors insabot reports to a person.

`insabot.cli.main` prints any `InsabotError` as one line (`insabot: error: file:line: reason`) and exits 2.
It lives in its own import-free module so the command line can catch it without importing torch,
transformers or httpx, which the modules that raise these errors need.
"""


class InsabotError(Exception):
    """A problem with the user's input, files, models or settings; the message names the file/line/key."""

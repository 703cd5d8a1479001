"""The one exception type a user should ever see from levers: a bad config value or a bad data input."""


class LeversConfigError(ValueError):
    """Raised before training starts; the message names the key, the bad value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is not allowed: {allowed}")

    def __reduce__(self) -> tuple:  # the three fields, not the message: travels between processes (launchers, DDP)
        return type(self), (self.key, self.value, self.allowed)


class LeversRunFailed(RuntimeError):
    """A run or a diagnostic that reached a verdict of failure; the message says what and which lever to try.

    `status` is what summary.json records; the command line exits with `exit_code`.
    """

    status = "failed"
    exit_code = 1

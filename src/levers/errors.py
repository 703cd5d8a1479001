"""The one exception type a user should ever see from levers: a bad config value or a bad data input."""


class LeversConfigError(ValueError):
    """Raised before training starts; the message names the key, the bad value and what is allowed."""

    def __init__(self, key: str, value: object, allowed: str) -> None:
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value!r} is not allowed: {allowed}")

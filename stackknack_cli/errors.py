"""The exceptions stackknack raises; the CLI turns each into one line on stderr."""


class StackknackError(Exception):
    """Base of every error the user should see as one line, without a traceback."""

    exit_code = 1


class ConfigError(StackknackError):
    """A setting, path or channel configuration is missing or wrong."""


class CredentialError(StackknackError):
    """A secret is missing, or the platform refused it."""


class ReconsentRequiredError(CredentialError):
    """The platform refused the refresh token; only a new consent in a browser can fix
    it. Nothing is sent to that channel until then; its pushes wait in the outbox."""


class InputError(StackknackError):
    """A file or value given by the user cannot be used."""


class ChannelError(StackknackError):
    """A channel answered in a way stackknack cannot use."""


class ChannelUnavailableError(ChannelError):
    """A channel did not answer usefully after the allowed retries (down, throttled)."""


class UnknownSkuError(InputError):
    """A SKU that is not in the inventory."""

"""Channel adapters: one module per platform, all speaking the protocol in ``base``."""

"""The sync engine: one sync cycle now; the watch loop and webhook listener later."""

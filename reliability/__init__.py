"""Fault injection for stackknack: the real program against the local simulators."""

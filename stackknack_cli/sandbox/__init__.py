"""Local simulators of the platforms, served on 127.0.0.1, and the demo."""

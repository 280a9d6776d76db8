"""Machine-learning project for this engagement: audit, train, serve, monitor and report."""

__version__ = "0.1.0"

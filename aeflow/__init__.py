"""The shell of aeflow: config, store, executor, daemon, command line."""

__version__ = "0.1.0"

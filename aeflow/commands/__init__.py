"""One module per command of the ``aeflow`` command line."""

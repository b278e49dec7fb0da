"""CLI command groups kept out of ``benchmark/cli.py`` to keep each file about one thing."""

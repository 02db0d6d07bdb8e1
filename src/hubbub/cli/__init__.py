"""The ``hubbub`` command."""

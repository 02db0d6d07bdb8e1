"""Hubbub's test suite: in-process ASGI tests, store tests and real-server (e2e) tests."""

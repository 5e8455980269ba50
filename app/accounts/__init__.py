"""Accounts: API tokens on top of Django users and groups."""

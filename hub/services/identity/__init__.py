"""Accounts, passwords, API tokens and sign-in sessions."""

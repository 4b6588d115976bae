"""Talking to the systemd user manager and its journal."""

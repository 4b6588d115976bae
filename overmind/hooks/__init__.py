"""Small programs systemd runs inside a mission's unit."""

"""The small process that runs inside a mission's unit, between systemd and the agent."""

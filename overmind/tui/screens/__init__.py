"""One module per view of the TUI; `base` holds what they share."""

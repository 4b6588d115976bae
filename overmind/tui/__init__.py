"""`overmind tui` ("nexus"): a k9s-like terminal control tower on Textual.

A front end like the CLI: it lists, shows and acts through the control layer
(`overmind.control`) and stays live through one change feed (`overmind.control.feed.Feed`).
It is imported only by the `tui` command, so no other command pays for Textual.

    app        the application: header, the view stack, command mode, the feed
    commands   `:command` names and aliases, completion, the nearest alias for a typo
    filtering  the `/` filter: a regex, `!` for the inverse
    cells      a mission's row as table cells, status colours, columns for the width
    widgets    header, command bar, confirmation and help dialogs
    screens/   one module per view: missions (and tree), logs, describe, rituals,
               blueprints, host, the new-mission form and the send dialog
"""

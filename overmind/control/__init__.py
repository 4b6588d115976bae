"""The control layer: everything a front end (the CLI, the dashboard, the TUI, the MCP server)
may ask of overmind, as plain functions returning typed data with a `to_json()`.

One module per noun, each importing only what its calls need:

    missions    list, look up and view missions and blueprints (records + live unit state)
    lifecycle   start, stop, kill (with cascade), restart, collect, wait
    logs        a range of output lines, and a live follow
    agents      agent events, results, send, subscribe
    blueprints  load, plan (diff), apply and follow blueprint files
    rituals     scheduled missions: list, add, run now, enable, disable, remove, their runs
    host        the systemd host at a glance, and the doctor's checks
    setup       making the host ready for the user (linger or boot start, skill, completion)
    feed        one change feed from systemd's signals (and the store), for any number of consumers
    states      a mission's life as a state machine, stepped by its unit's announcements (the feed's)

A front end parses input and presents output; it never re-derives a status, reads the journal
its own way or runs systemctl itself. What it needs and is missing here is added here, once.
"""

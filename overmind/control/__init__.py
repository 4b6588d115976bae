"""The control layer: everything a front end (the CLI, the dashboard, the TUI) may ask of
overmind, as plain functions returning typed data with a `to_json()`.

One module per noun, each importing only what its calls need:

    missions        list, look up and view missions and blueprints (records + live unit state)
    launch          start a mission: readiness, limit warnings, placement, unit, a session's wait
    lifecycle       restart, stop, kill (with cascade), collect, wait
    persist         persisted missions: their unit files enabled at boot, `lost at reboot`
    persist_files   persisted missions' unit files on disk: doctor's check, repair
    guardrails      the one rule for caps on how many missions start (--max-children, --max-new)
    logs            a range of output lines, and a live follow
    agents          agent events, results, send, subscribe
    timeline        what an agent did, as a person reads it (stored and live)
    costs           what agents spent: per mission, per tree, per day
    describe        one mission or blueprint as label/value lines (`info`, the TUI)
    attention       what needs a person (a waiting session, a crash, a tripped breaker)
    usage           memory and CPU of held views, read again from cgroupfs
    blueprints      load, plan (diff), apply and follow blueprint files
    rituals         scheduled missions: list, add, run now, enable, disable, remove, their runs
    permissions     what agents ask a person before a tool use, and the answers (approve, deny)
    worktrees       missions' worktrees: list, add, diff (and per file, with its commits), merge, remove, collect
    worktree_board  every worktree's row, its git work kept in memory between reads
    worktree_watch  which worktrees changed: the feed, git's folders, the services' signals
    memory          the shared memory: newest, search, show, forget, remember, stats, a mission's memories
    memory_watch    when the memories may have changed (inotify on their files)
    fanout          one watch's news to every subscriber
    akasha          the memory service's units (stop, serve to other machines)
    host            the systemd host at a glance, readiness, limits it cannot enforce
    doctor          the checks of what missions and rituals rely on
    setup           making the host ready for the user (linger or boot start, skill, completion)
    dashboard_unit  the web dashboard's socket-activated user service
    feed            one change feed from systemd's signals (and the store), for any number of consumers
    states          a mission's life as a state machine, stepped by its unit's announcements (the feed's)
    feed_restarts   the feed's reading of an end that an automatic restart follows

A front end parses input and presents output; it never re-derives a status, reads the journal
its own way or runs systemctl itself. What it needs and is missing here is added here, once.
"""

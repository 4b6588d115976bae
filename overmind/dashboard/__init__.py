"""The web dashboard: a live control tower in the browser, on the control layer and its change feed.

    app       the aiohttp application and its server (foreground or socket-activated)
    guards    token, cookie, CSRF, Host header, response headers, error pages
    live      the process's one change feed, fanned out to every open page
    sse       Server-Sent Events framing and heartbeats
    render    jinja2 (autoescaped) and the filters pages share
    svg       the blueprint DAG and the cost charts, drawn on the server
    missions, mission, blueprints, rituals, overview, streams, api   the routes
    token     the secret (no web framework imported: `dashboard url` stays quick)

Only `overmind dashboard` imports aiohttp; nothing here is loaded by other commands.
"""

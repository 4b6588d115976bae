"""The notification service: `python -m overmind.notify`, run by the user unit `overmind-notify.service`.

It follows the change feed and delivers what needs a person to the channels `overmind notify add`
set up. What to tell and when is the control layer's (`overmind.control.notify_*`); this package
runs the loop.
"""

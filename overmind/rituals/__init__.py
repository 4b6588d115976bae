"""Rituals: missions on a schedule, as a real systemd timer plus service in the user's unit
directory, so they survive reboots and logouts (with linger) without any overmind process.

The functions here are the whole interface, for the CLI and for blueprints alike:

    from overmind import rituals
    from overmind.rituals import schedule
    spec = rituals.RitualSpec(name, mission_spec, schedule.parse("Mon..Fri 09:00").schedule,
                              origin="blueprint:team")
    rituals.install(spec, replace=True)              # idempotent: unchanged files are not rewritten
    [r.name for r in rituals.all_rituals() if r.origin == "blueprint:team"]
    rituals.remove(name)
"""

from overmind.rituals.lifecycle import (
                                        Installed,
                                        RitualNotFound,
                                        all_rituals,
                                        disable,
                                        enable,
                                        get,
                                        install,
                                        remove,
                                        run_now,
)
from overmind.rituals.model import OVERLAPS, Ritual, RitualSpec
from overmind.systemd.unitfiles import unit_dir

__all__ = ["OVERLAPS", "Installed", "Ritual", "RitualNotFound", "RitualSpec", "all_rituals", "disable", "enable",
           "get", "install", "remove", "run_now", "unit_dir"]

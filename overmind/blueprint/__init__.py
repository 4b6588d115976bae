"""Blueprints: agents declared in a TOML file, applied like `kubectl apply`, run by systemd.

load (TOML -> validated Blueprint, file:line errors) -> dag (order, cycles) -> plan (what apply
would change) -> apply (store records + one systemd transaction). progress derives what a
pipeline and its agents are doing from the same live unit state `ps` reads.
"""

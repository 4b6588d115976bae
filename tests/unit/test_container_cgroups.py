"""Which `--cgroups=` a container's unit gives podman (the rig's reboot test runs the rootless case)."""

from overmind.isolation.service_units import cgroups_mode


def test_root_or_a_cgroup2_host_keeps_the_container_in_a_cgroup_of_its_own_below_the_unit() -> None:
    assert cgroups_mode(euid=0, unified=False) == "split"
    assert cgroups_mode(euid=0, unified=True) == "split"
    assert cgroups_mode(euid=1000, unified=True) == "split"


def test_a_users_own_podman_on_a_cgroup_v1_host_leaves_the_container_in_the_units_cgroup() -> None:
    assert cgroups_mode(euid=1000, unified=False) == "disabled"

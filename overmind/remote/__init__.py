"""Other machines: the hosts registry and the SSH transport to each host's own `overmind`.

Nothing here listens on a port or runs in the background of its own: every call is one `ssh`
process over OpenSSH's multiplexed connection to the host (ControlMaster, in a private control
directory), and the far side is the host's `overmind remote-exec`, which takes its arguments as
one inert token (`wire`), never through a shell's parsing. What comes back is hostile input:
`text.printable` makes it safe for a terminal.

    registry  the hosts file: names, ssh:// addresses, where each host's overmind is
    ssh       the ssh command lines, the control directory, what an ssh failure means
    wire      a command line packed for remote-exec, and unpacked there
    text      remote text made harmless for a terminal
"""

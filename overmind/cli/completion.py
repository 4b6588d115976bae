"""`overmind completion bash|zsh|fish`: print the shell completion script."""

from __future__ import annotations

import click

from overmind.completion import SHELLS, script


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash:  overmind completion bash > ~/.local/share/bash-completion/completions/overmind
    zsh:   add  eval "$(overmind completion zsh)"  to ~/.zshrc
    fish:  overmind completion fish > ~/.config/fish/completions/overmind.fish
    (`overmind setup` installs it for your login shell; the .deb installs all three.)
    """
    click.echo(script(shell))


COMMANDS = [completion]

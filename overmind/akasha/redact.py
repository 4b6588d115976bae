"""Likely secrets out of text before it is stored: keys, tokens, private keys, passwords.

Agents' prompts, commands and outputs carry credentials more often than anyone intends, and a
memory outlives the mission (and may be shared with a team). Each pattern keeps enough around
the secret (its name, the URL's host) for the memory to still make sense.
"""

from __future__ import annotations

import re

MARK = "[REDACTED]"

_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)", re.S)
# Tokens recognisable by their own shape, wherever they appear.
_TOKENS = re.compile("|".join((
    r"\bsk-ant-[A-Za-z0-9_-]{16,}",  # Anthropic
    r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{20,}",  # OpenAI
    r"\bgh[pousr]_[A-Za-z0-9]{30,}\b",  # GitHub
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    r"\bglpat-[A-Za-z0-9_-]{20,}",  # GitLab
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bxox[abposr]-[A-Za-z0-9-]{10,}",  # Slack
    r"\bAIza[0-9A-Za-z_-]{35}\b",  # Google API keys
    r"\b[rs]k_(?:live|test)_[0-9A-Za-z]{16,}",  # Stripe
    r"\bnpm_[A-Za-z0-9]{36}\b",
    r"\bpypi-[A-Za-z0-9_-]{50,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JSON web tokens
)))
_BEARER = re.compile(r"(?i)\b(bearer|token|basic)(\s+)[A-Za-z0-9._~+/-]{16,}=*")
# scheme://user:password@host -> scheme://user:[REDACTED]@host
_URL_PASSWORD = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)([^@/\s]+)(@)")
# NAME=value / NAME: value / "name": "value" where the name says it is a secret.
_ASSIGNMENT = re.compile(
    r"""(?ix)
    \b([\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credentials?|auth)
       [\w.-]*)
    (["']?\s*[:=]\s*)
    (?!(?:bearer|basic|token)\s)
    ("[^"\n]{3,}"|'[^'\n]{3,}'|[^\s"',;]{3,})""")


def redact(text: str) -> tuple[str, int]:
    """(text with likely secrets replaced by [REDACTED], how many were replaced)."""
    count = 0

    def replace(match: re.Match[str], keep: str = "", after: str = "") -> str:
        nonlocal count
        count += 1
        return keep + MARK + after

    text = _PRIVATE_KEY.sub(replace, text)
    text = _TOKENS.sub(replace, text)
    text = _URL_PASSWORD.sub(lambda m: replace(m, m[1], m[3]), text)
    text = _BEARER.sub(lambda m: replace(m, m[1] + m[2]), text)
    text = _ASSIGNMENT.sub(lambda m: m[0] if m[3].strip("\"'") == MARK else replace(m, m[1] + m[2]), text)
    return text, count

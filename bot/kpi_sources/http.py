"""What both readers need of HTTP: a server's address fit to show, and why it did not answer, in plain words."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

import requests

# `[Errno 111] Connection refused` inside requests' message: the operating system's words are the useful part.
OS_ERROR = re.compile(r"\[Errno -?\d+\] ([^'\")\]]+)")


def without_credentials(url: str) -> str:
    """`url` without any `user:password@` in it, fit to show in a message and to link to."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def no_answer_reason(error: requests.RequestException, timeout: float) -> str:
    """`timed out after 30 s`, `connection refused`, `name or service not known`."""
    if isinstance(error, requests.Timeout):
        return f"timed out after {timeout:g} s"
    if isinstance(error, requests.exceptions.SSLError):
        return "its TLS certificate was not accepted"
    found = OS_ERROR.search(str(error))
    if found:
        return found.group(1).strip().rstrip(".").lower()
    return "could not connect" if isinstance(error, requests.ConnectionError) else type(error).__name__

"""Whether a host or URL answers from this machine: probed, never assumed.

A probe is one HTTP request (HEAD, then GET when HEAD is refused) with a short timeout, through
the proxies the environment names (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), like the tools tasks run.
Any answer below 500 means the host is there (a 404 or 403 is still the host answering); no answer,
a failed name lookup, or a 5xx from a proxy means it is not. Results are kept for the process.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from functools import cache
from urllib.parse import urlsplit

TIMEOUT_SEC = 8.0


@cache
def url_answers(url: str) -> bool:
    context = ssl.create_default_context()
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": "termigen-reach/1"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SEC, context=context) as response:
                return response.status < 500
        except urllib.error.HTTPError as exc:
            if exc.code == 405 and method == "HEAD":
                continue
            return exc.code < 500
        except (urllib.error.URLError, OSError, ValueError):
            return False
    return False


def host_answers(host: str, scheme: str = "https") -> bool:
    """The host answers on `scheme`, or on the other of http/https."""
    other = "http" if scheme == "https" else "https"
    return url_answers(f"{scheme}://{host}/") or url_answers(f"{other}://{host}/")


@cache
def host_resolves(host: str) -> bool:
    """The host's name resolves: the probe for hosts reached by raw sockets, not HTTP."""
    import socket

    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return True


def url_host(url: str) -> str:
    return urlsplit(url).hostname or ""

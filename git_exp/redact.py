"""Remove credentials from URLs in anything we print or record.

``https://user:token@host/x`` becomes ``https://***@host/x``.  Over http(s) a bare
user part is redacted too (tokens are often passed as the user name); for other
schemes (``ssh://git@host``) only a user part carrying a password is.
"""
from __future__ import annotations

_USERINFO = r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/@\s'\"]+)@"


def _replace(match) -> str:
    scheme, userinfo = match["scheme"], match["userinfo"]
    if ":" in userinfo or scheme.lower().startswith(("http", "ftp")):
        return f"{scheme}***@"
    return match[0]


def redact(text: str) -> str:
    if "@" not in text:  # nothing to hide, and no need to import re (~12 ms)
        return text
    import re

    return re.sub(_USERINFO, _replace, text)

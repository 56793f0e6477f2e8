"""Keep secrets out of everything git-exp records or prints.

One module, used for commit subjects and messages, ``Exp-*`` trailers, error messages,
notes and traces (and so for everything built from them: ``show``, ``--json``, caches):

- URL credentials: ``https://user:token@host/x`` becomes ``https://***@host/x``.  Over
  http(s)/ftp a bare user part is redacted too (tokens are often passed as the user name);
  for other schemes (``ssh://git@host``) only a user part carrying a password is.
- Query values of token-like keys (``?private_token=``, ``&access_token=``, ``api_key``,
  ``key``, ``sig``, ``signature``, ``X-Amz-Signature``, ``auth``, ...): ``?token=***``.
- ``NAME=value`` and ``--name=value`` where NAME ends in token, secret, password, passwd,
  passphrase, api-key, access-key, private-key, credential(s): ``GITHUB_TOKEN=***``; in a
  command, the argument after ``--token``, ``--password``, ``--api-key``... too, and the
  password of ``-u``/``--user user:password`` (curl).
- Header values: ``Authorization: Bearer ***`` (the scheme word is kept),
  ``Proxy-Authorization``, ``Cookie``, and ``Xxx-Token``/``Xxx-Key``/``Xxx-Secret``-style
  headers (``Private-Token: ***``, ``X-API-Key: ***``).
- Values of environment variables whose names look secret (``*TOKEN*``, ``*SECRET*``,
  ``*PASS*``, ``*KEY*``, ``*CREDENTIAL*``, ``*AUTH*``, ``*COOKIE*``, ``*_PAT``), at least
  ``MIN_LENGTH`` characters long, wherever they occur, become ``$NAME`` -- so a recorded
  command stays runnable in a shell that has the same variables.

The cheap checks come first: text with no ``@`` and none of the words above, and no
secret value in it, returns unchanged without importing ``re`` (~12 ms).
"""
from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - typing imports re
    from typing import Iterable, Mapping, Sequence

MIN_LENGTH = 6  # shorter values (KEY=1, AUTH=yes) would blank out ordinary text
MASK = "***"
SECRET_NAME_WORDS = ("TOKEN", "SECRET", "PASS", "KEY", "CREDENTIAL", "AUTH", "COOKIE")
_HINTS = ("@", "token", "secret", "pass", "key", "sig", "auth", "credential", "cookie")
_MARK = "\x00"  # brackets an environment variable's name while rules run (no argv holds NUL)

# A key whose value is secret wherever it is assigned: NAME=, --name=, --name VALUE.
_NARROW = (r"[\w.-]*?(?:token|secret|passw(?:or)?d|passphrase|api[_-]?key|apikey|access[_-]?key"
           r"|private[_-]?key|credentials?)")
# In a URL's query string more keys count: key, sig, signature, auth (X-Amz-Signature, ?key=).
_BROAD = _NARROW + r"|(?:[\w.-]*?[_.-])?(?:key|sig|signature|auth|credential)"
_AUTH_HEADER = r"(?:proxy-)?authorization"
_OTHER_HEADER = r"set-cookie|cookie|api-?key|(?:[a-z0-9]+-)+(?:token|api-?key|key|secret|auth|password|signature)"
_HEADER = f"{_AUTH_HEADER}|{_OTHER_HEADER}"
_KEEP = r"(?:\x00\w+\x00|\$\{?[A-Za-z_]\w*\}?)"  # a value that is only an env reference stays
_SCHEMES = ("http", "ftp")
# Authorization schemes: the word is kept, what follows it is not.  Any other first word
# is taken for the credential itself.
_AUTH_SCHEMES = {"basic", "bearer", "digest", "token", "negotiate", "ntlm", "oauth", "bot", "apikey",
                 "hoba", "mutual", "vapid", "aws4-hmac-sha256", "scram-sha-1", "scram-sha-256"}


def secret_env(env: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """``[(value, NAME)]`` of environment variables that look secret, longest value first."""
    env = os.environ if env is None else env
    found: dict[str, str] = {}
    for name in sorted(env):
        value = env[name].strip()
        if len(value) >= MIN_LENGTH and _MARK not in value and _looks_secret(name):
            found.setdefault(value, name)
    return sorted(found.items(), key=lambda pair: -len(pair[0]))


def _looks_secret(name: str) -> bool:
    upper = name.upper().replace("AUTHORIZ", "AUTHZ").replace("AUTHOR", "")  # GIT_AUTHOR_NAME is no secret
    return any(word in upper for word in SECRET_NAME_WORDS) or upper.endswith("_PAT")


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret replaced (``***``, or ``$NAME`` for an environment value)."""
    if not text:
        return text
    values = secret_env(env)
    lower = text.lower()
    if not any(hint in lower for hint in _HINTS) and not any(value in text for value, _ in values):
        return text
    return _render_refs(_rules(_mark(text.replace(_MARK, "\ufffd"), values), whole=False))


def command_line(argv: Sequence[str], env: Mapping[str, str] | None = None) -> str:
    """``argv`` as one shell line, redacted: ``curl -H "Authorization: Bearer $GITHUB_TOKEN"
    'https://***@host/'``.  Environment references are double-quoted so they expand again."""
    import shlex

    values = secret_env(env)
    args = [_rules(_mark(arg, values), whole=True) for arg in argv]
    for i in range(1, len(args)):
        args[i] = _option_value(args[i - 1], args[i])
    return " ".join(_quote(arg) if _MARK in arg else shlex.quote(arg) for arg in args)


def _mark(text: str, values: Iterable[tuple[str, str]]) -> str:
    present = [(value, name) for value, name in values if value in text]
    if not present:
        return text
    import re

    names = dict(present)
    return re.sub("|".join(re.escape(value) for value, _ in present),
                  lambda m: f"{_MARK}{names[m[0]]}{_MARK}", text)


def _rules(text: str, *, whole: bool) -> str:
    """Apply the pattern rules; ``whole``: ``text`` is one argument (header values run to
    its end) rather than free text (they end at a quote, or after one word)."""
    lower = text.lower()
    if not any(hint in lower for hint in _HINTS):
        return text
    import re

    text = re.sub(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)([^/@\s'\"]+)@", _userinfo, text)
    text = re.sub(rf"(?i)([?&](?:{_BROAD})=)([^&#\s'\"]*)", _value, text)
    text = re.sub(rf"(?i)((?:^|(?<=[\s'\"]))-{{0,2}}{_NARROW}=)([^&\s'\"]*)", _value, text)
    if whole:  # the header runs to the end of the argument (curl -H, --header=, http.extraHeader=)
        return re.sub(rf"(?i)(?:^|(?<=[=\s'\"])|(?<=-H))((?:{_HEADER})\s*:\s*)(.*)$", _header, text, flags=re.S)
    text = re.sub(rf"(?i)(?<=(['\"]))((?:{_HEADER})\s*:\s*)([^\r\n]*?)(?=\1|$)",
                  lambda m: _header(m, 2), text, flags=re.M)
    schemes = "|".join(sorted(_AUTH_SCHEMES))
    text = re.sub(rf"(?i)(?<!['\"\w-])((?:{_AUTH_HEADER})\s*:[ \t]*)((?:(?:{schemes})[ \t]+)?[^\s'\"]*)",
                  _header, text)
    return re.sub(rf"(?i)(?<!['\"\w-])((?:{_OTHER_HEADER})\s*:[ \t]*)([^\s'\"]*)", _header, text)


def _userinfo(match) -> str:
    import re

    scheme, userinfo = match[1], match[2]
    if all(re.fullmatch(_KEEP, part) for part in userinfo.split(":")):
        return match[0]
    if ":" in userinfo or scheme.lower().startswith(_SCHEMES):
        return f"{scheme}{MASK}@"
    return match[0]


def _value(match) -> str:
    return match[1] + _masked(match[2])


def _masked(value: str) -> str:
    import re

    return value if not value or value == MASK or re.fullmatch(_KEEP, value) else MASK


def _header(match, at: int = 1) -> str:
    """``Name: value`` -> ``Name: ***``; an Authorization value keeps a known scheme word
    (``Bearer ***``)."""
    head, value = match[at], match[at + 1]
    if not value.strip():
        return head + value
    if "auth" in head.lower():
        parts = value.split(None, 1)
        if len(parts) == 2 and parts[0].lower() in _AUTH_SCHEMES:
            gap = value[len(parts[0]):len(value) - len(parts[1])]
            return head + parts[0] + gap + _masked(parts[1].rstrip()) + _trailing(parts[1])
    return head + _masked(value.rstrip()) + _trailing(value)


def _trailing(value: str) -> str:
    return value[len(value.rstrip()):]


def _option_value(option: str, value: str) -> str:
    """The argument after ``--token``/``--password``/... ; the password in ``-u user:pass``."""
    import re

    if not option.startswith("-") or "=" in option or option.startswith("--no-"):
        return value
    if re.fullmatch(rf"(?i)-{{1,2}}(?:{_NARROW})", option):
        return _masked(value)
    if option in ("-u", "--user", "--auth", "--proxy-user") and ":" in value:
        user, password = value.split(":", 1)
        if password and not password.isdigit():  # docker -u 1000:1000 is no secret
            return f"{user}:{_masked(password)}"
    return value


def _render_refs(text: str) -> str:
    """Marked environment names as ``$NAME`` (``${NAME}`` before a word character)."""
    if _MARK not in text:
        return text
    parts = text.split(_MARK)
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        name, rest = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        out.append(f"${{{name}}}" if rest[:1].isalnum() or rest[:1] == "_" else f"${name}")
        out.append(rest)
    return "".join(out)


def _quote(arg: str) -> str:
    """One argument holding environment references, double-quoted for a POSIX shell."""
    parts = arg.split(_MARK)
    out = ['"']
    for i, part in enumerate(parts):
        if i % 2:
            rest = parts[i + 1] if i + 1 < len(parts) else ""
            out.append(f"${{{part}}}" if rest[:1].isalnum() or rest[:1] == "_" else f"${part}")
        else:
            out.append("".join("\\" + c if c in '"\\$`' else c for c in part))
    out.append('"')
    return "".join(out)

"""``Record``: the small value class of the start-up path.

``dataclasses`` imports ``inspect`` (~7 ms here, ``python -X importtime -c "import
dataclasses"``), which a 50 ms command cannot pay.  A record lists its fields in
``__slots__``, takes them positionally or by keyword (``_defaults`` fills the rest), and
compares and prints by those fields.
"""
from __future__ import annotations


class Record:
    __slots__ = ()
    _defaults: dict = {}

    def __init__(self, *args, **kwargs) -> None:
        fields = self.__slots__
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes at most {len(fields)} fields")
        values = {**self._defaults, **dict(zip(fields, args)), **kwargs}
        missing = [f for f in fields if f not in values]
        if missing or len(values) > len(fields):
            raise TypeError(f"{type(self).__name__}: missing {missing} or unknown {sorted(set(values) - set(fields))}")
        for field in fields:
            object.__setattr__(self, field, values[field])

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{f}={getattr(self, f)!r}' for f in self.__slots__)})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(getattr(self, f) == getattr(other, f) for f in self.__slots__)

    __hash__ = None  # mutable

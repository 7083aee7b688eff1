"""Integer request parameters (page numbers, cursors, limits): one parser for every route.

A value is an integer written in ASCII digits (at most `MAX_DIGITS` of them) or, in JSON, an
integral number, inside the bounds the route gives; anything else ("²", which `str.isdigit`
accepts but `int` refuses, a 5,000-digit number, NaN, Infinity, 2.5) is a `QueryError` (400)
that names the parameter, never a ValueError that ends as a 500 (issue 20).
No Flask here: `ikmkg.web.int_arg` reads query strings with it, `ikmkg.reconcile` JSON values.
"""

from __future__ import annotations

import re

from ikmkg.errors import QueryError

#: Most digits read; larger numbers are out of every route's range anyway.
MAX_DIGITS = 12
_INTEGER = re.compile(r"[+-]?[0-9]{1,%d}" % MAX_DIGITS)


def parse_int(value: object, name: str, *, minimum: int = 0,
              maximum: int = 10 ** MAX_DIGITS - 1) -> int:
    """`value` (text or a JSON number) as an integer from `minimum` to `maximum`.

    Raises:
        QueryError: not an integer, or outside the bounds.
    """
    number: int | None = None
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():  # False for NaN and the infinities
        number = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value):
        number = int(value)
    if number is None or not minimum <= number <= maximum:
        shown = value if not isinstance(value, str) else value[:40] + (
            "..." if len(value) > 40 else "")
        raise QueryError(f"{name} must be an integer from {minimum} to {maximum}, "
                         f"not {shown!r}")
    return number

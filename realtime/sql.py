"""Set-based statements for the ingest tick, the same on PostgreSQL and SQLite (3.35+).

The ORM has no INSERT ... ON CONFLICT ... RETURNING nor UPDATE ... FROM; a tick needs both
to write hundreds of rows in a handful of statements. Table and column names come from the
models' meta, values always travel as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection

# PostgreSQL types a VALUES list by its first row and cannot type a column of NULLs; SQLite
# needs no casts at all.
_PG_TYPES = {
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "text": "text",
    "json": "jsonb",
    "time": "timestamptz",
}


def placeholder(kind: str) -> str:
    if connection.vendor == "postgresql":
        return f"CAST(%s AS {_PG_TYPES[kind]})"
    return "%s"


def _row(kinds: Sequence[str]) -> str:
    return "(" + ", ".join(placeholder(kind) for kind in kinds) + ")"


def insert_returning(
    table: str,
    columns: Sequence[str],
    kinds: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    returning: Sequence[str],
) -> list[tuple[Any, ...]]:
    """INSERT rows, skipping those that hit the unique `conflict` columns; the inserted
    rows' `returning` columns (a skipped row returns nothing)."""
    if not rows:
        return []
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from the models
        f"VALUES {', '.join([_row(kinds)] * len(rows))} "
        f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return list(cursor.fetchall())


def update_from_values(
    table: str,
    key: str,
    columns: Sequence[str],
    kinds: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    where: str = "",
    returning: Sequence[str] = (),
    expressions: dict[str, str] | None = None,
) -> list[tuple[Any, ...]]:
    """UPDATE `table` SET each of `columns` from rows of (key, *columns); `where` adds a
    condition on `table` and `v` (the values), `expressions` replaces `v.<column>` by an
    expression for some columns. Returns `returning` of the changed rows."""
    if not rows:
        return []
    names = [key, *columns]
    expressions = expressions or {}
    sets = ", ".join(f"{c} = {expressions.get(c, f'v.{c}')}" for c in columns)
    sql = (
        f"WITH v({', '.join(names)}) AS (VALUES {', '.join([_row(kinds)] * len(rows))}) "  # noqa: S608
        f"UPDATE {table} SET {sets} FROM v WHERE {table}.{key} = v.{key}"
        + (f" AND ({where})" if where else "")
        + (f" RETURNING {', '.join(f'{table}.{c}' for c in returning)}" if returning else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return list(cursor.fetchall()) if returning else []


def lock_rows(table: str, key: str, ids: Sequence[Any]) -> None:
    """Lock rows by key in key order (PostgreSQL; SQLite has one writer at a time)."""
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {key} FROM {table} WHERE {key} IN ({', '.join(['%s'] * len(ids))}) "  # noqa: S608
            f"ORDER BY {key} FOR UPDATE",
            list(ids),
        )

"""Set-based statements for the ingest tick, the same on PostgreSQL and SQLite (3.35+).

The ORM has no INSERT ... ON CONFLICT ... RETURNING nor UPDATE ... FROM; a tick needs both
to write hundreds of rows in a handful of statements. Table and column names come from the
models' meta, values always travel as parameters.

On PostgreSQL the rows travel as ONE parameter, a JSON array read back with
`jsonb_to_recordset`: a VALUES list of a thousand rows is a statement with thousands of
placeholders, which psycopg splits and quotes in Python on every call (that was a fifth of
a daphne process's time at 1,000 items/s); one JSON text is encoded in C and parsed by the
server. SQLite gets the VALUES list.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
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


def _params(kinds: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Any]:
    # Times go in as the ORM writes them: SQLite keeps text and compares it as text, so an
    # aware datetime passed raw ("...+03:00") would sort against the ORM's naive UTC by its
    # digits, and an older fix could move a unit back.
    adapt = connection.ops.adapt_datetimefield_value
    return [
        adapt(value) if kind == "time" else value
        for row in rows
        for kind, value in zip(kinds, row, strict=True)
    ]


def _pg(connection_vendor: str) -> bool:
    return connection_vendor == "postgresql"


def _json_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "time":
        return value.isoformat() if isinstance(value, datetime) else value
    if kind == "json" and isinstance(value, str):
        return json.loads(value)  # embedded as JSON, not as a JSON string
    return value


def _recordset(columns: Sequence[str], kinds: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """`jsonb_to_recordset(%s) AS v(col type, ...)`'s parameter: the rows as JSON objects."""
    return json.dumps(
        [
            {c: _json_value(k, v) for c, k, v in zip(columns, kinds, row, strict=True)}
            for row in rows
        ],
        separators=(",", ":"),
        allow_nan=False,
    )


def _recordset_sql(columns: Sequence[str], kinds: Sequence[str]) -> str:
    typed = ", ".join(f"{c} {_PG_TYPES[k]}" for c, k in zip(columns, kinds, strict=True))
    return f"jsonb_to_recordset(CAST(%s AS jsonb)) AS v({typed})"


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
    tail = f"ON CONFLICT ({', '.join(conflict)}) DO NOTHING RETURNING {', '.join(returning)}"
    if _pg(connection.vendor):
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from the models
            f"SELECT {', '.join(columns)} FROM {_recordset_sql(columns, kinds)} {tail}"
        )
        params: list[Any] = [_recordset(columns, kinds, rows)]
    else:
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - names from the models
            f"VALUES {', '.join([_row(kinds)] * len(rows))} {tail}"
        )
        params = _params(kinds, rows)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
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
    if _pg(connection.vendor):
        values = f"SELECT * FROM {_recordset_sql(names, kinds)}"  # noqa: S608 - model names
        params: list[Any] = [_recordset(names, kinds, rows)]
    else:
        values = f"VALUES {', '.join([_row(kinds)] * len(rows))}"
        params = _params(kinds, rows)
    sql = (
        f"WITH v({', '.join(names)}) AS ({values}) "  # noqa: S608 - names from the models
        f"UPDATE {table} SET {sets} FROM v WHERE {table}.{key} = v.{key}"
        + (f" AND ({where})" if where else "")
        + (f" RETURNING {', '.join(f'{table}.{c}' for c in returning)}" if returning else "")
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if returning else []


def lock_rows(table: str, key: str, ids: Sequence[Any]) -> None:
    """Lock rows by key in key order (PostgreSQL; SQLite has one writer at a time)."""
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {key} FROM {table} WHERE {key} = ANY(%s) ORDER BY {key} FOR UPDATE",  # noqa: S608
            [list(ids)],
        )


def _plain(field: Any, obj: Any) -> Any:
    """A model field's value as JSON for `jsonb_to_recordset` (PostgreSQL)."""
    value = getattr(obj, field.attname)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value  # bool is an int, and a JSON field's string is a JSON string: both fine
    if isinstance(value, datetime):
        return value.isoformat()
    if field.get_internal_type() == "JSONField":
        return value
    value = field.get_db_prep_save(value, connection)
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def insert_objects(objs: Sequence[Any], *, key: Sequence[str] = ()) -> None:
    """Insert unsaved model instances of one model, as `bulk_create` does.

    On PostgreSQL in one statement with the rows as one JSON parameter (Django 5.2's
    bulk_create sends one array per column, which psycopg quotes element by element with a
    regular expression: most of a tick's time for rows carrying JSON). With `key` (unique
    columns), each instance gets its primary key back. On SQLite: `bulk_create`.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not (f.primary_key and f.auto_created)]
    fields = [f for f in fields if not (f.primary_key and getattr(objs[0], f.attname) is None)]
    quote = connection.ops.quote_name
    names = [quote(f.column) for f in fields]
    typed = ", ".join(f"{quote(f.column)} {f.db_type(connection).split('(')[0]}" for f in fields)
    rows = json.dumps(
        [{f.column: _plain(f, obj) for f in fields} for obj in objs],
        separators=(",", ":"),
        allow_nan=False,
    )
    pk = meta.pk.column
    keys = [meta.get_field(name).column for name in key]
    returning = f" RETURNING {', '.join(quote(c) for c in [pk, *keys])}" if key else ""
    statement = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(names)}) "  # noqa: S608 - model names
        f"SELECT {', '.join(names)} FROM jsonb_to_recordset(CAST(%s AS jsonb)) AS v({typed})"
        + returning
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [rows])
        if not key:
            return
        ids = {tuple(row[1:]): row[0] for row in cursor.fetchall()}
    attnames = [meta.get_field(name).attname for name in key]
    for obj in objs:
        obj.pk = ids[tuple(getattr(obj, a) for a in attnames)]
        obj._state.adding = False
        obj._state.db = connection.alias

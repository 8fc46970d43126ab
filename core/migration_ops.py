"""Migration operations of our own, for what Tortoise's do not do on a populated database."""

from __future__ import annotations

from typing import Any

from tortoise.fields.base import DB_DEFAULT_NOT_SET
from tortoise.migrations import operations as ops


class AddFieldWithDefault(ops.AddField):
    """AddField of a NOT NULL column that fills the existing rows with the field's default.

    Tortoise's AddField writes `ADD COLUMN "x" ... NOT NULL` without a DEFAULT (the field's
    default is a Python one): on a table with rows SQLite refuses ("Cannot add a NOT NULL
    column with default value NULL") and PostgreSQL too ("contains null values"), so an
    existing deployment could not upgrade. Here the column is added with the default as
    the column's DEFAULT, which fills the existing rows; on PostgreSQL the DEFAULT is then
    dropped, in the same transaction (the schema is the one the plain AddField makes). On
    SQLite a DEFAULT cannot be dropped without rebuilding the table: the plain AddField
    runs when the table is empty (same schema as before), and a table with rows keeps a
    DEFAULT equal to the model's default (the application always writes the column).
    The migration state is AddField's: `makemigrations` sees no change.
    """

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if not state_editor:
            return
        model = new_state.apps.get_model(f"{app_label}.{self.model_name}")
        field = model._meta.fields_map[self.name]
        plain = (
            field.null
            or field.has_db_default()
            or field.default is None
            or callable(field.default)
            or state_editor.collect_sql
        )
        sqlite = state_editor.client.capabilities.dialect == "sqlite"
        table = model._meta.db_table
        if not plain and sqlite:
            rows = await state_editor.client.execute_query_dict(
                f'SELECT 1 AS x FROM "{table}" LIMIT 1'  # noqa: S608 - a model's table
            )
            plain = not rows
        if plain:
            await state_editor.add_field(model, self.name)
            return
        field.db_default = field.default
        try:
            await state_editor.add_field(model, self.name)
        finally:
            field.db_default = DB_DEFAULT_NOT_SET
        if not sqlite:
            column = field.source_field or field.model_field_name
            await state_editor.client.execute_script(
                f'ALTER TABLE "{table}" ALTER COLUMN "{column}" DROP DEFAULT'
            )

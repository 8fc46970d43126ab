from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_session_version'), ('events', '0002_all_day_phone_field'), ('people', '0001_initial'), ('registrations', '0004_retention_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CheckIn',
            name='changed_at',
            field=fields.DatetimeField(null=True, auto_now=True, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='CheckIn',
            index=Index(fields=['event_id', 'changed_at']),
        ),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['event_id', 'updated_at']),
        ),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['person_id', 'event_id']),
        ),
    ]

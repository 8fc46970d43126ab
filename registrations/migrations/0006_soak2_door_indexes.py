from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('registrations', '0005_soak_indexes')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['event_id', 'status', 'party_size']),
        ),
        ops.AddIndex(
            model_name='CheckIn',
            index=Index(fields=['event_id', 'day', 'active_key', 'registration_id']),
        ),
        ops.AddIndex(
            model_name='Scan',
            index=Index(fields=['event_id', 'id']),
        ),
    ]

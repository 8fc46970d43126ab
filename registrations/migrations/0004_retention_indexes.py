from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('registrations', '0003_abuse_pending_email')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='CheckIn',
            index=Index(fields=['registration_id']),
        ),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['person_id']),
        ),
        ops.AddIndex(
            model_name='Scan',
            index=Index(fields=['registration_id']),
        ),
    ]

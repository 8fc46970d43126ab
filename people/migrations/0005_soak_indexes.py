from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('people', '0004_campa_tags')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['updated_at']),
        ),
        ops.AddIndex(
            model_name='Person',
            index=Index(fields=['last_name', 'first_name', 'id']),
        ),
    ]

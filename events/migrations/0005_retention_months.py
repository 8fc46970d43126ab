from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('events', '0004_campb_automatic_messages'), ('people', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Event',
            name='retention_months',
            field=fields.IntField(null=True),
        ),
    ]

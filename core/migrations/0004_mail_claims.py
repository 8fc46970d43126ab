from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0003_retention_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboundMessage',
            name='claim_token',
            field=fields.CharField(null=True, max_length=32),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_session_version')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboundMessage',
            name='claim_token',
            field=fields.CharField(null=True, max_length=32),
        ),
    ]

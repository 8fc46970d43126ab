from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_session_version')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='OutboundMessage',
            index=Index(fields=['cause_type', 'cause_id']),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_session_version'), ('events', '0002_all_day_phone_field'), ('people', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Event',
            name='confirm_by_email',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Event',
            name='max_public_party_size',
            field=fields.IntField(default=10),
        ),
    ]

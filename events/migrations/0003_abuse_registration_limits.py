from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from core.migration_ops import AddFieldWithDefault

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_session_version'), ('events', '0002_all_day_phone_field'), ('people', '0001_initial')]

    initial = False

    operations = [
        AddFieldWithDefault(
            model_name='Event',
            name='confirm_by_email',
            field=fields.BooleanField(default=False),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='max_public_party_size',
            field=fields.IntField(default=10),
        ),
    ]

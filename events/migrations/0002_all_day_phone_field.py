from tortoise import migrations
from tortoise.migrations import operations as ops
from events.models import PhoneField
from tortoise import fields

from core.migration_ops import AddFieldWithDefault

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('events', '0001_initial'), ('people', '0001_initial')]

    initial = False

    operations = [
        AddFieldWithDefault(
            model_name='Event',
            name='all_day',
            field=fields.BooleanField(default=False),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='phone_field',
            field=fields.CharEnumField(default=PhoneField.OPTIONAL, description='HIDDEN: hidden\nOPTIONAL: optional\nREQUIRED: required', enum_type=PhoneField, max_length=10),
        ),
    ]

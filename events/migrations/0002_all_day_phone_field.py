from tortoise import migrations
from tortoise.migrations import operations as ops
from events.models import PhoneField
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('events', '0001_initial'), ('people', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Event',
            name='all_day',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Event',
            name='phone_field',
            field=fields.CharEnumField(default=PhoneField.OPTIONAL, description='HIDDEN: hidden\nOPTIONAL: optional\nREQUIRED: required', enum_type=PhoneField, max_length=10),
        ),
    ]

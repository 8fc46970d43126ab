from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from core.migration_ops import AddFieldWithDefault

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('events', '0003_abuse_registration_limits'), ('people', '0001_initial')]

    initial = False

    operations = [
        AddFieldWithDefault(
            model_name='Event',
            name='send_reminder',
            field=fields.BooleanField(default=True),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='reminder_days_before',
            field=fields.IntField(default=2),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='send_thanks',
            field=fields.BooleanField(default=True),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='evaluation_url',
            field=fields.CharField(default='', max_length=500),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='send_change_notices',
            field=fields.BooleanField(default=True),
        ),
        ops.AddField(
            model_name='Event',
            name='reminders_sent_at',
            field=fields.DatetimeField(null=True),
        ),
        ops.AddField(
            model_name='Event',
            name='thanks_sent_at',
            field=fields.DatetimeField(null=True),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from core.migration_ops import AddFieldWithDefault

class Migration(migrations.Migration):
    dependencies = [('core', '0004_mail_claims'), ('events', '0001_initial'), ('events', '0002_all_day_phone_field'), ('events', '0003_abuse_registration_limits'), ('events', '0004_campb_automatic_messages'), ('events', '0005_retention_months'), ('people', '0005_soak_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Event',
            name='attestation_minutes',
            field=fields.IntField(null=True),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='attestation_minutes_per_day',
            field=fields.BooleanField(default=False),
        ),
        AddFieldWithDefault(
            model_name='Event',
            name='gives_attestation',
            field=fields.BooleanField(default=False),
        ),
    ]

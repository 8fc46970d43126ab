from tortoise import migrations
from tortoise.migrations import operations as ops
from registrations.models import RegistrationStatus
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_session_version'), ('events', '0002_all_day_phone_field'), ('people', '0001_initial'), ('registrations', '0002_checkin_volunteer')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Registration',
            name='status',
            field=fields.CharEnumField(db_index=True, description='CONFIRMED: confirmed\nWAITLISTED: waitlisted\nPENDING_APPROVAL: pending_approval\nDECLINED: declined\nCANCELLED: cancelled\nPENDING_EMAIL: pending_email', enum_type=RegistrationStatus, max_length=20),
        ),
        ops.AddField(
            model_name='Registration',
            name='hold_expires_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from registrations.models import CheckinResult, QuestionKind, RegistrationSource, RegistrationStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('events', '0001_initial'), ('people', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='CheckinDevice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='checkin_devices', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('token', fields.ForeignKeyField('core.ApiToken', source_field='token_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_by', fields.ForeignKeyField('core.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registrations_checkin_device', 'app': 'registrations', 'pk_attr': 'id', 'table_description': 'A tablet paired to one event through a scoped, expiring, revocable token.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Question',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='SHORT_TEXT: short_text\nLONG_TEXT: long_text\nSINGLE_CHOICE: single_choice\nMULTIPLE_CHOICE: multiple_choice\nYES_NO: yes_no\nNUMBER: number', enum_type=QuestionKind, max_length=16)),
                ('label', fields.CharField(max_length=300)),
                ('help_text', fields.CharField(default='', max_length=500)),
                ('required', fields.BooleanField(default=False)),
                ('position', fields.IntField(default=0)),
                ('choices', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'registrations_question', 'app': 'registrations', 'pk_attr': 'id', 'table_description': "A custom question of an event's registration form."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Registration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('public_id', fields.CharField(unique=True, max_length=32)),
                ('ticket_code', fields.CharField(unique=True, max_length=8)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.RESTRICT)),
                ('person', fields.ForeignKeyField('people.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='registrations', on_delete=OnDelete.RESTRICT)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=40)),
                ('status', fields.CharEnumField(db_index=True, description='CONFIRMED: confirmed\nWAITLISTED: waitlisted\nPENDING_APPROVAL: pending_approval\nDECLINED: declined\nCANCELLED: cancelled', enum_type=RegistrationStatus, max_length=20)),
                ('clientele', fields.ForeignKeyField('people.Clientele', source_field='clientele_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('organization', fields.ForeignKeyField('people.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('territory', fields.ForeignKeyField('people.Territory', source_field='territory_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('language', fields.CharField(default='fr', max_length=5)),
                ('party_size', fields.IntField(default=1)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('under_14', fields.BooleanField(default=False)),
                ('guardian_consent', fields.BooleanField(default=False)),
                ('source', fields.CharEnumField(default=RegistrationSource.FORM, description='FORM: form\nAPI: api\nINVITATION: invitation\nWALKIN: walkin\nIMPORT: import\nBACKOFFICE: backoffice', enum_type=RegistrationSource, max_length=12)),
                ('waitlist_rank', fields.BigIntField(null=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('confirmed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('anonymized_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registrations_registration', 'app': 'registrations', 'indexes': [Index(fields=['event_id', 'status'])], 'pk_attr': 'id', 'table_description': "One person's registration to one event (party_size heads)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CheckIn',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('registration', fields.ForeignKeyField('registrations.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='checkins', on_delete=OnDelete.CASCADE)),
                ('day', fields.DateField()),
                ('active_key', fields.CharField(null=True, unique=True, max_length=40)),
                ('checked_in_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('device', fields.ForeignKeyField('registrations.CheckinDevice', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('staff', fields.ForeignKeyField('core.User', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('method', fields.CharField(default='scan', max_length=10)),
                ('undone_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('undone_by', fields.ForeignKeyField('core.User', source_field='undone_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'registrations_checkin', 'app': 'registrations', 'indexes': [Index(fields=['event_id', 'day'])], 'pk_attr': 'id', 'table_description': 'A successful check-in: one per registration per event day (local date).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Scan',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('nonce', fields.CharField(null=True, unique=True, max_length=64)),
                ('scanned_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('result', fields.CharEnumField(description='OK: ok\nALREADY_CHECKED_IN: already_checked_in\nINVALID: invalid\nWRONG_EVENT: wrong_event\nCANCELLED: cancelled\nWAITLISTED: waitlisted\nUNAPPROVED: unapproved\nOUTSIDE_WINDOW: outside_window', enum_type=CheckinResult, max_length=20)),
                ('registration', fields.ForeignKeyField('registrations.Registration', source_field='registration_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('checkin', fields.ForeignKeyField('registrations.CheckIn', source_field='checkin_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('device', fields.ForeignKeyField('registrations.CheckinDevice', source_field='device_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('staff', fields.ForeignKeyField('core.User', source_field='staff_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('detail', fields.CharField(default='', max_length=200)),
            ],
            options={'table': 'registrations_scan', 'app': 'registrations', 'indexes': [Index(fields=['event_id', 'scanned_at'])], 'pk_attr': 'id', 'table_description': 'Every scan, successful or not (audit of the door), idempotent by nonce.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SigningKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=32)),
                ('public_key', fields.CharField(max_length=100)),
                ('private_key_encrypted', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'registrations_signing_key', 'app': 'registrations', 'pk_attr': 'id', 'table_description': 'The Ed25519 key that signs tickets, its private part encrypted with SECRET_KEY.'},
            bases=['Model'],
        ),
    ]

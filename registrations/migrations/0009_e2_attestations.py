from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0004_mail_claims'), ('events', '0001_initial'), ('events', '0002_all_day_phone_field'), ('events', '0003_abuse_registration_limits'), ('events', '0004_campb_automatic_messages'), ('events', '0005_retention_months'), ('people', '0005_soak_indexes'), ('registrations', '0008_r2_report_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Attestation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=16)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('registration', fields.OneToOneField('registrations.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name='attestation', on_delete=OnDelete.CASCADE)),
                ('days', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('minutes', fields.IntField(null=True)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('mailed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.CharField(default='', max_length=300)),
                ('revoked_by', fields.ForeignKeyField('core.User', source_field='revoked_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
            ],
            options={'table': 'registrations_attestation', 'app': 'registrations', 'indexes': [Index(fields=['event_id', 'revoked_at'])], 'pk_attr': 'id', 'table_description': 'An attendance certificate (registrations.attestations): one per registration that'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AttestationMailing',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.OneToOneField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('requested_by', fields.ForeignKeyField('core.User', source_field='requested_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('total', fields.IntField(default=0)),
                ('queued', fields.IntField(default=0)),
                ('finished_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'registrations_attestation_mailing', 'app': 'registrations', 'pk_attr': 'id', 'table_description': 'An organizer\'s "mail every certificate" for one event, done in batches by the'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from campaigns.models import AudienceKind, CampaignKind, CampaignStatus, RecipientStatus, Rsvp
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0002_user_session_version'), ('events', '0005_retention_months'), ('people', '0004_campa_tags'), ('registrations', '0004_retention_indexes')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Audience',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('kind', fields.CharEnumField(default=AudienceKind.FILTER, description='FILTER: filter\nSTATIC: static', enum_type=AudienceKind, max_length=10)),
                ('filters', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by', fields.ForeignKeyField('core.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'campaigns_audience', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'A segment of the directory: a saved filter (see `campaigns.audiences`) or a list.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AudienceMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('audience', fields.ForeignKeyField('campaigns.Audience', source_field='audience_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('people.Person', source_field='person_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'campaigns_audience_member', 'app': 'campaigns', 'unique_together': (('audience', 'person'),), 'pk_attr': 'id', 'table_description': 'One person of a static audience.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='INVITATION: invitation\nNEWSLETTER: newsletter\nREMINDER: reminder\nFOLLOW_UP: follow_up', enum_type=CampaignKind, max_length=12)),
                ('name', fields.CharField(max_length=200)),
                ('audience', fields.ForeignKeyField('campaigns.Audience', source_field='audience_id', null=True, db_constraint=True, to_field='id', related_name='campaigns', on_delete=OnDelete.RESTRICT)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('follows', fields.ForeignKeyField('campaigns.Campaign', source_field='follows_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('purpose', fields.CharField(max_length=32)),
                ('subject_fr', fields.CharField(max_length=300)),
                ('body_fr', fields.TextField(unique=False)),
                ('subject_en', fields.CharField(default='', max_length=300)),
                ('body_en', fields.TextField(default='', unique=False)),
                ('status', fields.CharEnumField(default=CampaignStatus.DRAFT, db_index=True, description='DRAFT: draft\nSCHEDULED: scheduled\nSENDING: sending\nSENT: sent\nPAUSED: paused\nCANCELLED: cancelled', enum_type=CampaignStatus, max_length=10)),
                ('scheduled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('excluded', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('core.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'campaigns_campaign', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'One mailing: composed in Markdown (fr, en), sent to an audience through the outbox.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignRecipient',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='recipients', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('people.Person', source_field='person_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=RecipientStatus.PENDING, description='PENDING: pending\nQUEUED: queued\nSKIPPED: skipped', enum_type=RecipientStatus, max_length=10)),
                ('skip_reason', fields.CharField(default='', max_length=32)),
                ('rsvp', fields.CharEnumField(null=True, description='YES: yes\nNO: no', enum_type=Rsvp, max_length=3)),
                ('rsvp_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('registration', fields.ForeignKeyField('registrations.Registration', source_field='registration_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('queued_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('opened_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('clicked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('clicks', fields.IntField(default=0)),
            ],
            options={'table': 'campaigns_recipient', 'app': 'campaigns', 'unique_together': (('campaign', 'person'),), 'indexes': [Index(fields=['campaign_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One person of one campaign: at most one row each, so nothing is queued twice.'},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from events.models import AttendanceMode, EventKind, EventStatus, PartnerRole, SubmissionStatus, Visibility
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('people', '0001_initial')]

    initial = True

    operations = [
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uid', fields.CharField(unique=True, max_length=64)),
                ('parent', fields.ForeignKeyField('events.Event', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='ANNUAL_LAUNCH: annual_launch\nPERSEVERANCE_DAYS: perseverance_days\nREGIONAL_EVENT: regional_event\nACTIVITY: activity\nMEETING: meeting\nTRAINING: training', enum_type=EventKind, max_length=20)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('starts_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('timezone', fields.CharField(default='America/Toronto', max_length=64)),
                ('mode', fields.CharEnumField(default=AttendanceMode.IN_PERSON, description='IN_PERSON: in_person\nONLINE: online\nHYBRID: hybrid', enum_type=AttendanceMode, max_length=10)),
                ('venue_name', fields.CharField(default='', max_length=200)),
                ('address', fields.CharField(default='', max_length=300)),
                ('territory', fields.ForeignKeyField('people.Territory', source_field='territory_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('online_url', fields.CharField(default='', max_length=500)),
                ('capacity', fields.IntField(null=True)),
                ('waitlist', fields.BooleanField(default=False)),
                ('requires_approval', fields.BooleanField(default=False)),
                ('allow_walkins_over_capacity', fields.BooleanField(default=False)),
                ('registration_enabled', fields.BooleanField(default=True)),
                ('checkin_opens_minutes', fields.IntField(default=120)),
                ('registration_opens_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('registration_closes_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('visibility', fields.CharEnumField(default=Visibility.PUBLIC, description='PUBLIC: public\nUNLISTED: unlisted\nPRIVATE: private', enum_type=Visibility, max_length=10)),
                ('status', fields.CharEnumField(default=EventStatus.DRAFT, db_index=True, description='DRAFT: draft\nPUBLISHED: published\nCANCELLED: cancelled\nCOMPLETED: completed', enum_type=EventStatus, max_length=10)),
                ('organizer_organization', fields.ForeignKeyField('people.Organization', source_field='organizer_organization_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('contact_person', fields.ForeignKeyField('people.Person', source_field='contact_person_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('contact_name', fields.CharField(default='', max_length=200)),
                ('contact_email', fields.CharField(default='', max_length=254)),
                ('contact_phone', fields.CharField(default='', max_length=40)),
                ('image_url', fields.CharField(default='', max_length=500)),
                ('image_alt', fields.CharField(default='', max_length=300)),
                ('expected_participants', fields.IntField(null=True)),
                ('seats_taken', fields.IntField(default=0)),
                ('sequence', fields.IntField(default=0)),
                ('cancel_reason', fields.TextField(default='', unique=False)),
                ('clienteles', fields.ManyToManyField('people.Clientele', unique=True, db_constraint=True, through='events_event_clientele', forward_key='clientele_id', backward_key='events_event_id', related_name='events_events', on_delete=OnDelete.CASCADE)),
                ('plan_items', fields.ManyToManyField('people.PlanItem', unique=True, db_constraint=True, through='events_event_plan_item', forward_key='planitem_id', backward_key='events_event_id', related_name='events_events', on_delete=OnDelete.CASCADE)),
                ('created_by', fields.ForeignKeyField('core.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'events_event', 'app': 'events', 'indexes': [Index(fields=['status', 'visibility', 'starts_at']), Index(fields=['parent_id', 'starts_at'])], 'pk_attr': 'id', 'table_description': 'An event, or an edition (an umbrella event whose children are its events).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ActivitySubmission',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('edition', fields.ForeignKeyField('events.Event', source_field='edition_id', db_constraint=True, to_field='id', related_name='submissions', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(default=SubmissionStatus.PENDING, db_index=True, description='PENDING: pending\nCHANGES_REQUESTED: changes_requested\nAPPROVED: approved\nREFUSED: refused', enum_type=SubmissionStatus, max_length=20)),
                ('token', fields.CharField(unique=True, max_length=64)),
                ('title', fields.CharField(max_length=200)),
                ('description', fields.TextField(default='', unique=False)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('venue_name', fields.CharField(default='', max_length=200)),
                ('address', fields.CharField(default='', max_length=300)),
                ('territory', fields.ForeignKeyField('people.Territory', source_field='territory_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('clientele_codes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('organization_name', fields.CharField(max_length=200)),
                ('contact_name', fields.CharField(max_length=200)),
                ('contact_email', fields.CharField(max_length=254)),
                ('contact_phone', fields.CharField(default='', max_length=40)),
                ('expected_participants', fields.IntField(null=True)),
                ('wants_registration', fields.BooleanField(default=False)),
                ('language', fields.CharField(default='fr', max_length=5)),
                ('moderator_message', fields.TextField(default='', unique=False)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_by', fields.ForeignKeyField('core.User', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'events_activity_submission', 'app': 'events', 'pk_attr': 'id', 'table_description': "A partner's proposal of an activity for a JPS edition, waiting for moderation."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EventPartner',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='partners', on_delete=OnDelete.CASCADE)),
                ('organization', fields.ForeignKeyField('people.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('role', fields.CharEnumField(default=PartnerRole.PARTNER, description='FIDUCIARY: fiduciary\nPARTNER: partner\nHOST: host\nFUNDER: funder', enum_type=PartnerRole, max_length=12)),
            ],
            options={'table': 'events_event_partner', 'app': 'events', 'unique_together': (('event', 'organization', 'role'),), 'pk_attr': 'id', 'table_description': "An organization's role in an event (fiduciary, partner, host, funder)."},
            bases=['Model'],
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from evaluations.models import QuestionKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('events', '0001_initial'), ('events', '0002_all_day_phone_field'), ('events', '0003_abuse_registration_limits'), ('events', '0004_campb_automatic_messages'), ('events', '0005_retention_months'), ('people', '0005_soak_indexes'), ('registrations', '0007_sqlite_rebuilt_indexes')]

    initial = True

    operations = [
        ops.CreateModel(
            name='EvaluationForm',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('anonymous', fields.BooleanField(default=True)),
                ('shared_with_children', fields.BooleanField(default=False)),
                ('intro_fr', fields.CharField(default='', max_length=1000)),
                ('intro_en', fields.CharField(default='', max_length=1000)),
                ('opens_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminder_days', fields.IntField(default=7)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'evaluations_form', 'app': 'evaluations', 'unique_together': (('event',),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Invitation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('form', fields.ForeignKeyField('evaluations.EvaluationForm', source_field='form_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('registration', fields.ForeignKeyField('registrations.Registration', source_field='registration_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('reminded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('answered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'evaluations_invitation', 'app': 'evaluations', 'unique_together': (('form', 'registration'),), 'indexes': [Index(fields=['form_id', 'event_id'])], 'pk_attr': 'id', 'table_description': 'One personal link: a registration of one activity invited to one form.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Question',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('form', fields.ForeignKeyField('evaluations.EvaluationForm', source_field='form_id', db_constraint=True, to_field='id', related_name='questions', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=40)),
                ('kind', fields.CharEnumField(description='RATING: rating\nCHOICE: choice\nMULTI: multi\nTEXT: text\nLONG_TEXT: long_text\nNPS: nps', enum_type=QuestionKind, max_length=10)),
                ('label_fr', fields.CharField(max_length=300)),
                ('label_en', fields.CharField(default='', max_length=300)),
                ('options_fr', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('options_en', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('required', fields.BooleanField(default=False)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'evaluations_question', 'app': 'evaluations', 'unique_together': (('form', 'code'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Response',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('form', fields.ForeignKeyField('evaluations.EvaluationForm', source_field='form_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('events.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('edit_key', fields.CharField(unique=True, max_length=64)),
                ('registration', fields.ForeignKeyField('registrations.Registration', source_field='registration_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('clientele', fields.ForeignKeyField('people.Clientele', source_field='clientele_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('territory', fields.ForeignKeyField('people.Territory', source_field='territory_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('submitted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'evaluations_response', 'app': 'evaluations', 'indexes': [Index(fields=['form_id', 'event_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Answer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('response', fields.ForeignKeyField('evaluations.Response', source_field='response_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('question', fields.ForeignKeyField('evaluations.Question', source_field='question_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('number', fields.IntField(null=True)),
                ('text', fields.TextField(null=True, unique=False)),
            ],
            options={'table': 'evaluations_answer', 'app': 'evaluations', 'indexes': [Index(fields=['question_id', 'number']), Index(fields=['question_id', 'response_id', 'number']), Index(fields=['response_id'])], 'pk_attr': 'id', 'table_description': "One chosen value: a number (rating, NPS, the option's index) or a text."},
            bases=['Model'],
        ),
    ]

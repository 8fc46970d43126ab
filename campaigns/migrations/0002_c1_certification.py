from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from campaigns.certification.models import ApplicationStatus, CertificateStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0001_initial'), ('core', '0004_mail_claims'), ('events', '0001_initial'), ('events', '0002_all_day_phone_field'), ('events', '0003_abuse_registration_limits'), ('events', '0004_campb_automatic_messages'), ('events', '0005_retention_months'), ('people', '0005_soak_indexes'), ('registrations', '0007_sqlite_rebuilt_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Employer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=210)),
                ('legal_name', fields.CharField(max_length=200)),
                ('neq', fields.CharField(null=True, db_index=True, max_length=10)),
                ('sector', fields.CharField(default='', max_length=32)),
                ('address', fields.CharField(default='', max_length=300)),
                ('territory', fields.ForeignKeyField('people.Territory', source_field='territory_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('employees', fields.IntField(default=0)),
                ('student_employees', fields.IntField(default=0)),
                ('organization', fields.ForeignKeyField('people.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('publish_in_directory', fields.BooleanField(default=False)),
                ('directory_consent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('directory_consent_wording', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'certification_employer', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'An employer that applies. `key` identifies it: its NEQ, else its folded legal name.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Program',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('description_fr', fields.TextField(default='', unique=False)),
                ('description_en', fields.TextField(default='', unique=False)),
                ('validity_months', fields.IntField(default=24)),
                ('renewal_window_days', fields.IntField(default=90)),
                ('active', fields.BooleanField(default=True)),
                ('plan_items', fields.ManyToManyField('people.PlanItem', unique=True, db_constraint=True, through='certification_program_plan_item', forward_key='planitem_id', backward_key='certification_program_id', related_name='certification_programs', on_delete=OnDelete.CASCADE)),
                ('reviewers', fields.ManyToManyField('core.User', unique=True, db_constraint=True, through='certification_program_reviewer', forward_key='user_id', backward_key='certification_program_id', related_name='certification_programs', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'certification_program', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'A certification program (e.g. "Employeur engagé envers la réussite éducative").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Cohort',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('program', fields.ForeignKeyField('campaigns.Program', source_field='program_id', db_constraint=True, to_field='id', related_name='cohorts', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('opens_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closes_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'certification_cohort', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'An application period of a program (e.g. "Cohorte 2027").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Application',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('program', fields.ForeignKeyField('campaigns.Program', source_field='program_id', db_constraint=True, to_field='id', related_name='applications', on_delete=OnDelete.RESTRICT)),
                ('cohort', fields.ForeignKeyField('campaigns.Cohort', source_field='cohort_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('employer', fields.ForeignKeyField('campaigns.Employer', source_field='employer_id', db_constraint=True, to_field='id', related_name='applications', on_delete=OnDelete.RESTRICT)),
                ('contact', fields.ForeignKeyField('people.Person', source_field='contact_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('contact_consent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=ApplicationStatus.DRAFT, db_index=True, description='DRAFT: draft\nSUBMITTED: submitted\nUNDER_REVIEW: under_review\nCHANGES_REQUESTED: changes_requested\nCERTIFIED: certified\nREFUSED: refused\nEXPIRING: expiring\nRENEWED: renewed\nLAPSED: lapsed\nREVOKED: revoked', enum_type=ApplicationStatus, max_length=20)),
                ('employer_data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('language', fields.CharField(default='fr', max_length=5)),
                ('answers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('points', fields.IntField(default=0)),
                ('open_key', fields.CharField(null=True, unique=True, max_length=40)),
                ('form_nonce', fields.CharField(null=True, unique=True, max_length=64)),
                ('previous', fields.ForeignKeyField('campaigns.Application', source_field='previous_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('campaign', fields.ForeignKeyField('campaigns.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('submitted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('certified_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('status_changed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'certification_application', 'app': 'campaigns', 'indexes': [Index(fields=['program_id', 'status'])], 'pk_attr': 'id', 'table_description': 'One application of one employer to one program (a renewal has a `previous`).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Criterion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('program', fields.ForeignKeyField('campaigns.Program', source_field='program_id', db_constraint=True, to_field='id', related_name='criteria', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=32)),
                ('text_fr', fields.TextField(unique=False)),
                ('text_en', fields.TextField(default='', unique=False)),
                ('required', fields.BooleanField(default=False)),
                ('evidence_asked', fields.BooleanField(default=False)),
                ('points', fields.IntField(default=0)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'certification_criterion', 'app': 'campaigns', 'unique_together': (('program', 'code'),), 'pk_attr': 'id', 'table_description': 'One commitment of a program, answered met / not met (with optional evidence).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Level',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('program', fields.ForeignKeyField('campaigns.Program', source_field='program_id', db_constraint=True, to_field='id', related_name='levels', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=32)),
                ('name_fr', fields.CharField(max_length=100)),
                ('name_en', fields.CharField(default='', max_length=100)),
                ('min_points', fields.IntField(default=0)),
                ('position', fields.IntField(default=0)),
            ],
            options={'table': 'certification_level', 'app': 'campaigns', 'unique_together': (('program', 'code'),), 'pk_attr': 'id', 'table_description': 'A certification level (Bronze, Argent, Or): reached from `min_points`.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Certificate',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.OneToOneField('campaigns.Application', source_field='application_id', db_constraint=True, to_field='id', related_name='certificate', on_delete=OnDelete.RESTRICT)),
                ('code', fields.CharField(unique=True, max_length=16)),
                ('level', fields.ForeignKeyField('campaigns.Level', source_field='level_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(default=CertificateStatus.VALID, db_index=True, description='VALID: valid\nEXPIRING: expiring\nRENEWED: renewed\nLAPSED: lapsed\nREVOKED: revoked', enum_type=CertificateStatus, max_length=10)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_reason', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'certification_certificate', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'The certificate of a certified application, verified at /certification/verify/{code}.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProgramCampaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('program', fields.ForeignKeyField('campaigns.Program', source_field='program_id', db_constraint=True, to_field='id', related_name='outreach', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.OneToOneField('campaigns.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'certification_program_campaign', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': 'An outreach campaign inviting employers to apply to a program (funnel).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReviewNote',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('application', fields.ForeignKeyField('campaigns.Application', source_field='application_id', db_constraint=True, to_field='id', related_name='notes', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('core.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('to_employer', fields.BooleanField(default=False)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'certification_review_note', 'app': 'campaigns', 'pk_attr': 'id', 'table_description': "A reviewer's internal note, or a message sent to the employer (`to_employer`)."},
            bases=['Model'],
        ),
    ]

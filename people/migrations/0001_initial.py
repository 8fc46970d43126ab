from tortoise import migrations
from tortoise.migrations import operations as ops
from people.models import ConsentPurpose, PlanLevel, Sector, TerritoryKind
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Clientele',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('name_fr', fields.CharField(max_length=200)),
                ('name_en', fields.CharField(max_length=200)),
                ('position', fields.IntField(default=0)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'people_clientele', 'app': 'people', 'pk_attr': 'id', 'table_description': 'A target clientele (clientèle cible). Stable codes, editable names.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlanItem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=20)),
                ('level', fields.CharEnumField(description='AXIS: axis\nORIENTATION: orientation\nOBJECTIVE: objective\nACTION: action', enum_type=PlanLevel, max_length=12)),
                ('title', fields.TextField(unique=False)),
                ('parent', fields.ForeignKeyField('people.PlanItem', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField(default=0)),
                ('clienteles', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'people_plan_item', 'app': 'people', 'pk_attr': 'id', 'table_description': 'Action-plan tree: axe (A–D) > orientation > objectif > action ("1.1.3").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Territory',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=10)),
                ('kind', fields.CharEnumField(description='REGION: region\nMRC: mrc', enum_type=TerritoryKind, max_length=10)),
                ('name', fields.CharField(max_length=120)),
                ('parent', fields.ForeignKeyField('people.Territory', source_field='parent_id', null=True, db_constraint=True, to_field='id', related_name='children', on_delete=OnDelete.RESTRICT)),
                ('active', fields.BooleanField(default=True)),
            ],
            options={'table': 'people_territory', 'app': 'people', 'pk_attr': 'id', 'table_description': 'An administrative region ("01"–"17") or an MRC / equivalent territory.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Organization',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('name_key', fields.CharField(unique=True, max_length=200)),
                ('sector', fields.CharEnumField(default=Sector.OTHER, description='EDUCATION: education\nMUNICIPAL: municipal\nHEALTH: health\nCOMMUNITY: community\nBUSINESS: business\nGOVERNMENT: government\nRESEARCH: research\nOTHER: other', enum_type=Sector, max_length=16)),
                ('territory', fields.ForeignKeyField('people.Territory', source_field='territory_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('website', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'people_organization', 'app': 'people', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Person',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('first_name', fields.CharField(max_length=100)),
                ('last_name', fields.CharField(max_length=100)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('email_key', fields.CharField(null=True, unique=True, max_length=254)),
                ('phone', fields.CharField(default='', max_length=40)),
                ('language', fields.CharField(default='fr', max_length=5)),
                ('organization', fields.ForeignKeyField('people.Organization', source_field='organization_id', null=True, db_constraint=True, to_field='id', related_name='people', on_delete=OnDelete.SET_NULL)),
                ('clientele', fields.ForeignKeyField('people.Clientele', source_field='clientele_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('territory', fields.ForeignKeyField('people.Territory', source_field='territory_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('erased_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'people_person', 'app': 'people', 'pk_attr': 'id', 'table_description': 'One row per human, identified by e-mail (case-insensitive).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('people.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharEnumField(description='EVENT_COMMUNICATIONS: event_communications\nNEWSLETTER: newsletter\nPHOTOS: photos\nPARENTAL: parental', enum_type=ConsentPurpose, max_length=32)),
                ('granted', fields.BooleanField()),
                ('source', fields.CharField(max_length=64)),
                ('wording', fields.TextField(default='', unique=False)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'people_consent', 'app': 'people', 'pk_attr': 'id', 'table_description': 'Consent ledger: every grant or withdrawal, never updated in place.'},
            bases=['Model'],
        ),
    ]

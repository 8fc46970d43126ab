from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('people', '0003_retention_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Tag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=60)),
                ('key', fields.CharField(unique=True, max_length=60)),
            ],
            options={'table': 'people_tag', 'app': 'people', 'pk_attr': 'id', 'table_description': 'A free label on people and organizations ("comité JPS", "partenaire 2027").'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='OrganizationTag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('organization', fields.ForeignKeyField('people.Organization', source_field='organization_id', db_constraint=True, to_field='id', related_name='tag_links', on_delete=OnDelete.CASCADE)),
                ('tag', fields.ForeignKeyField('people.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'people_organization_tag', 'app': 'people', 'unique_together': (('organization', 'tag'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PersonTag',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('person', fields.ForeignKeyField('people.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='tag_links', on_delete=OnDelete.CASCADE)),
                ('tag', fields.ForeignKeyField('people.Tag', source_field='tag_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'people_person_tag', 'app': 'people', 'unique_together': (('person', 'tag'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]

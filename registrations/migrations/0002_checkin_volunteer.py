from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from core.migration_ops import AddFieldWithDefault

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('events', '0001_initial'), ('people', '0001_initial'), ('registrations', '0001_initial')]

    initial = False

    operations = [
        AddFieldWithDefault(
            model_name='CheckIn',
            name='volunteer',
            field=fields.CharField(default='', max_length=100),
        ),
        AddFieldWithDefault(
            model_name='Scan',
            name='volunteer',
            field=fields.CharField(default='', max_length=100),
        ),
    ]

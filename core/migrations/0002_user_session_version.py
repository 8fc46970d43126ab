from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

from core.migration_ops import AddFieldWithDefault

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial')]

    initial = False

    operations = [
        AddFieldWithDefault(
            model_name='User',
            name='session_version',
            field=fields.IntField(default=0),
        ),
    ]

from tortoise import migrations
from tortoise.migrations import operations as ops
from people.models import ConsentPurpose
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('people', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Consent',
            name='purpose',
            field=fields.CharEnumField(description='EVENT_COMMUNICATIONS: event_communications\nNEWSLETTER: newsletter\nPHOTOS: photos\nPARENTAL: parental\nJPS_NEWS: jps_news', enum_type=ConsentPurpose, max_length=32),
        ),
    ]

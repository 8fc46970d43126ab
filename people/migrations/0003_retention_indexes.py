from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('people', '0002_campb_jps_news_purpose')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Consent',
            index=Index(fields=['person_id', 'purpose']),
        ),
    ]

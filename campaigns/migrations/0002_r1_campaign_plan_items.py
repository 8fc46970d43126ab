from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('campaigns', '0001_initial'), ('core', '0004_mail_claims'), ('events', '0001_initial'), ('events', '0002_all_day_phone_field'), ('events', '0003_abuse_registration_limits'), ('events', '0004_campb_automatic_messages'), ('events', '0005_retention_months'), ('people', '0006_r1_plans'), ('registrations', '0007_sqlite_rebuilt_indexes')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Campaign',
            name='plan_items',
            field=fields.ManyToManyField('people.PlanItem', unique=True, db_constraint=True, through='campaigns_campaign_plan_item', forward_key='planitem_id', backward_key='campaigns_campaign_id', related_name='campaigns_campaigns', on_delete=OnDelete.CASCADE),
        ),
    ]

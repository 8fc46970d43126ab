from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('core', '0001_initial'), ('core', '0002_user_session_version'), ('core', '0003_retention_indexes'), ('core', '0004_mail_claims'), ('events', '0001_initial'), ('events', '0002_all_day_phone_field'), ('events', '0003_abuse_registration_limits'), ('events', '0004_campb_automatic_messages'), ('events', '0005_retention_months'), ('people', '0001_initial'), ('people', '0002_campb_jps_news_purpose'), ('people', '0003_retention_indexes'), ('people', '0004_campa_tags'), ('people', '0005_soak_indexes'), ('people', '0006_r1_plans'), ('registrations', '0001_initial'), ('registrations', '0002_checkin_volunteer'), ('registrations', '0003_abuse_pending_email'), ('registrations', '0004_retention_indexes'), ('registrations', '0005_soak_indexes'), ('registrations', '0006_soak2_door_indexes'), ('registrations', '0007_sqlite_rebuilt_indexes')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='CheckIn',
            index=Index(fields=['registration_id', 'active_key']),
        ),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['event_id', 'status', 'person_id', 'clientele_id', 'territory_id', 'organization_id', 'party_size', 'source', 'id']),
        ),
        ops.AddIndex(
            model_name='Registration',
            index=Index(fields=['person_id', 'status', 'event_id']),
        ),
    ]

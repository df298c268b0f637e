from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StatusConfig(AppConfig):
    name = "hknweb.status"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from .migrate_record import record_migrate

        post_migrate.connect(record_migrate, sender=self)

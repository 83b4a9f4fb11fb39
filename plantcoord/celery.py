import os

from celery import Celery

from plantcoord.broker import redis_transport_patch

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "plantcoord.settings")

redis_transport_patch()  # before any connection: see plantcoord/broker.py
app = Celery("plantcoord", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

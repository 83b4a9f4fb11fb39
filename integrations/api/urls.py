from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("events", views.InboxEventViewSet, basename="inboxevent")

urlpatterns = [path("events", views.EventsView.as_view(), name="events-ingest"), *router.urls]

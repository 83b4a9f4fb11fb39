from django.urls import path

from kernel.api import Router

from . import views

router = Router()
router.register("events", views.InboxEventViewSet, basename="inboxevent")
router.register("outbox", views.OutboxDeliveryViewSet, basename="outboxdelivery")

urlpatterns = [path("events", views.EventsView.as_view(), name="events-ingest"), *router.urls]

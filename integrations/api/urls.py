from django.urls import path

from kernel.api import Router

from . import b2mml_views, views

router = Router()
router.register("events", views.InboxEventViewSet, basename="inboxevent")
router.register("outbox", views.OutboxDeliveryViewSet, basename="outboxdelivery")

urlpatterns = [
    path("events", views.EventsView.as_view(), name="events-ingest"),
    path("b2mml", b2mml_views.B2mmlImportView.as_view(), name="b2mml-import"),
    path(
        "lines/<str:code>/schedule.xml",
        b2mml_views.LineScheduleXmlView.as_view(),
        name="line-schedule-xml",
    ),
    path(
        "orders/<str:number>/schedule.xml",
        b2mml_views.OrderScheduleXmlView.as_view(),
        name="order-schedule-xml",
    ),
    *router.urls,
]

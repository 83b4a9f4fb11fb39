from django.urls import path

from . import andon_views, views

urlpatterns = [
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/events/<int:pk>/reprocess", views.reprocess, name="inbox-reprocess"),
    path("integrations/outbox/<int:pk>/retry", views.delivery_retry_view, name="delivery-retry"),
    # A line's andon station (floor pages, issue 15): calls go through the inbox.
    path("lines/<str:code>/andon", andon_views.station, name="andon"),
]

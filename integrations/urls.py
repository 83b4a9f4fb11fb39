from django.urls import path

from . import views

urlpatterns = [
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/events/<int:pk>/reprocess", views.reprocess, name="inbox-reprocess"),
    path("integrations/outbox/<int:pk>/retry", views.delivery_retry_view, name="delivery-retry"),
]

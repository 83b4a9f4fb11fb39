from django.urls import path

from . import views

urlpatterns = [
    path("integrations/", views.integrations, name="integrations"),
    path("integrations/events/<int:pk>/reprocess", views.reprocess, name="inbox-reprocess"),
]

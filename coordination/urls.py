from django.urls import path

from . import metrics_views, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("metrics/", metrics_views.dashboard, name="metrics"),
    path("metrics/export/<slug:table>.csv", metrics_views.export_csv, name="metrics-export"),
]

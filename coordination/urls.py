from django.urls import include, path

from . import metrics_views, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("quality/", views.quality_queue, name="quality"),
    path("quality/hold/", views.quality_hold_many, name="quality-hold"),
    path("lots/<str:code>/", views.lot_detail, name="lot-detail"),
    path("lots/<str:code>/<slug:action>/", views.lot_action, name="lot-action"),
    path("metrics/", metrics_views.dashboard, name="metrics"),
    path("metrics/export/<slug:table>.csv", metrics_views.export_csv, name="metrics-export"),
    path("", include("coordination.proposals.urls")),  # /plan/: resequencing proposals
]

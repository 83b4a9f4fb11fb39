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
    # Drill-down pages and the search box (floor pages, issue 15).
    path("lines/<str:code>/", views.line_detail, name="line-detail"),
    path("orders/", views.order_list, name="order-list"),
    path("orders/<str:number>/", views.order_detail, name="order-detail"),
    path("jobs/<str:number>/", views.job_detail, name="job-detail"),
    path("items/<str:code>/", views.item_detail, name="item-detail"),
    path("search/", views.search, name="search"),
    path("", include("coordination.proposals.urls")),  # /plan/: resequencing proposals
]

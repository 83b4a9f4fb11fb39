from django.urls import re_path

from kernel.api import Router

from ..metrics_views import MetricsView
from . import views

router = Router()
router.register("lines", views.LineViewSet)
router.register("orders", views.OrderViewSet)
router.register("jobs", views.JobViewSet)
router.register("lots", views.LotViewSet)

urlpatterns = [
    *router.urls,
    re_path(r"^metrics/?$", MetricsView.as_view(), name="api-metrics"),
]

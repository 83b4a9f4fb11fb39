from django.urls import re_path

from kernel.api import Router

from ..metrics_views import MetricsView
from ..proposals import api as proposals
from . import views

router = Router()
router.register("lines", views.LineViewSet)
router.register("orders", views.OrderViewSet)
router.register("jobs", views.JobViewSet)
router.register("lots", views.LotViewSet)
router.register("proposals", proposals.ProposalViewSet)

urlpatterns = [
    *router.urls,
    re_path(r"^metrics/?$", MetricsView.as_view(), name="api-metrics"),
    re_path(
        r"^lines/(?P<code>[^/.]+)/resequence/?$",
        proposals.line_resequence,
        name="api-line-resequence",
    ),
    re_path(
        r"^lines/(?P<code>[^/.]+)/priorities/?$",
        proposals.line_priorities_view,
        name="api-line-priorities",
    ),
]

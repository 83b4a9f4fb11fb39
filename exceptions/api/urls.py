from django.urls import re_path
from rest_framework.routers import SimpleRouter

from . import views


class OptionalSlashRouter(SimpleRouter):
    """Actions answer with or without the trailing slash (other systems post to both)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("exceptions", views.ExceptionCaseViewSet, basename="exceptioncase")
router.register("root-causes", views.RootCauseViewSet, basename="rootcause")

urlpatterns = [
    re_path(
        r"^exceptions/by-key/(?P<action>acknowledge|resolve|dismiss|assign)/?$",
        views.ByKeyActionView.as_view(),
        name="exception-by-key",
    ),
    *router.urls,
]

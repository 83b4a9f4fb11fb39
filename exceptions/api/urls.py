from django.urls import re_path
from rest_framework.routers import SimpleRouter

from . import views

# "/?": actions answer with or without the trailing slash (other systems post to both).
router = SimpleRouter(trailing_slash="/?")
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

from django.urls import re_path

from kernel.api import Router

from . import views

router = Router()
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

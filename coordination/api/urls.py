from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=True)
router.register("lines", views.LineViewSet)
router.register("orders", views.OrderViewSet)
router.register("jobs", views.JobViewSet)
router.register("lots", views.LotViewSet)

urlpatterns = router.urls

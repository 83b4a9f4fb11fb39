from kernel.api import Router

from . import views

router = Router()
router.register("lines", views.LineViewSet)
router.register("orders", views.OrderViewSet)
router.register("jobs", views.JobViewSet)
router.register("lots", views.LotViewSet)

urlpatterns = router.urls

from kernel.api import Router

from . import views

router = Router()
router.register("tasks", views.TaskViewSet, basename="task")
router.register("decisions", views.DecisionViewSet, basename="decision")
urlpatterns = router.urls

from plantcoord.routers import OptionalSlashRouter

from . import views

router = OptionalSlashRouter()
router.register("tasks", views.TaskViewSet, basename="task")
router.register("decisions", views.DecisionViewSet, basename="decision")
urlpatterns = router.urls

from django.urls import path

from . import views

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/counts/", views.counts, name="inbox-counts"),
    path("inbox/notifications/", views.notifications, name="notifications"),
    path("inbox/notifications/read/", views.notifications_read, name="notifications-read"),
    path("inbox/preferences/", views.preferences, name="notification-preferences"),
    path("tasks/<int:pk>/", views.task_detail, name="task-detail"),
    path("tasks/<int:pk>/<slug:action>/", views.task_action, name="task-action"),
]

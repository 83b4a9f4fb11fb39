from django.urls import path

from . import views

urlpatterns = [
    path("board/", views.board, name="board"),
    path("exceptions/<int:pk>/", views.case_detail, name="exception-detail"),
    path("exceptions/<int:pk>/<slug:action>/", views.case_action, name="exception-action"),
]

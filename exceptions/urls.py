from django.urls import path

from . import manual_views, views

urlpatterns = [
    path("board/", views.board, name="board"),
    path("board/raise/", manual_views.case_raise_view, name="exception-raise"),
    path("exceptions/<int:pk>/", views.case_detail, name="exception-detail"),
    path("exceptions/<int:pk>/<slug:action>/", views.case_action, name="exception-action"),
]

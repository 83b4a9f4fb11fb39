from django.urls import path

from . import views

urlpatterns = [
    path("plan/", views.plan, name="plan"),
    path("plan/proposals/<str:pk>/", views.proposal_detail, name="plan-proposal"),
    path("plan/proposals/<str:pk>/pin/", views.proposal_pin, name="plan-proposal-pin"),
    path(
        "plan/proposals/<str:pk>/<slug:action>/",
        views.proposal_action,
        name="plan-proposal-action",
    ),
    path("plan/lines/<str:code>/resequence/", views.line_resequence, name="plan-line-resequence"),
]

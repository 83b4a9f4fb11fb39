from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from coordination.metrics_prometheus import prometheus_metrics

from . import accounts, health

admin.site.site_header = "Plant coordination — administration"
admin.site.site_title = "Plant coordination admin"

api_v1 = [
    path("", include("coordination.api.urls")),
    path("", include("exceptions.api.urls")),
    path("", include("integrations.api.urls")),
    path("", include("workflows.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script (CSP).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
        name="api-docs",
    ),
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", prometheus_metrics, name="prometheus-metrics"),  # operations, for Prometheus
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("integrations.urls")),
    path("", include("exceptions.urls")),
    path("", include("workflows.urls")),
    path("", include("coordination.urls")),
]

handler403 = "plantcoord.handlers.permission_denied"
handler404 = "plantcoord.handlers.page_not_found"
handler500 = "plantcoord.handlers.server_error"

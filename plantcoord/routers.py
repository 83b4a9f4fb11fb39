from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Actions answer with or without the trailing slash (other systems post to both)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"

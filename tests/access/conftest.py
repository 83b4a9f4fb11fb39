from tests.exceptions.conftest import down, fast_passwords, plant, signal  # noqa: F401
from tests.workflows.conftest import order_change  # noqa: F401

import pytest
from django.contrib import admin

from coordination.demo import demo_seed
from coordination.models import Lot

pytestmark = pytest.mark.django_db

COORDINATION_MODELS = [m for m in admin.site._registry if m._meta.app_label == "coordination"]


@pytest.fixture
def admin_client_plant(client, django_user_model):
    demo_seed(users=False)
    user = django_user_model.objects.create_superuser("root", "root@plant", "pw-Secret-1")
    client.force_login(user)
    return client


@pytest.mark.parametrize("model", COORDINATION_MODELS, ids=lambda m: m.__name__)
def test_every_model_has_a_working_admin_list_with_search(model, admin_client_plant):
    url = f"/admin/coordination/{model._meta.model_name}/"
    assert admin_client_plant.get(url).status_code == 200
    if admin.site._registry[model].search_fields:
        assert admin_client_plant.get(url, {"q": "L1"}).status_code == 200


def test_lot_state_is_read_only_in_admin(admin_client_plant):
    lot = Lot.objects.filter(status=Lot.Status.AVAILABLE).first()
    url = f"/admin/coordination/lot/{lot.pk}/change/"
    page = admin_client_plant.get(url).content.decode()
    assert 'name="status"' not in page
    data = {
        "code": lot.code,
        "item": lot.item_id,
        "quantity": "5",
        "location": lot.location_id,
        "produced_at_0": "2026-11-01",
        "produced_at_1": "10:00:00",
        "status": "scrapped",
        "coordination-statechange-content_type-object_id-TOTAL_FORMS": "0",
        "coordination-statechange-content_type-object_id-INITIAL_FORMS": "0",
    }
    response = admin_client_plant.post(url, data)
    assert response.status_code == 302, response.context["errors"]
    lot.refresh_from_db()
    assert lot.status == Lot.Status.AVAILABLE
    assert lot.quantity == 5

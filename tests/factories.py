"""Factories for the operational picture and exceptions, and the plant events observers
see. FSM states are set at build time."""

import itertools
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from coordination import models as m
from coordination.events import PlantEvent
from exceptions.models import ExceptionCase


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-not-demo-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Site
        django_get_or_create = ("code",)

    code = "S1"
    name = "Test site"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Location

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"LOC-{n}")
    name = factory.LazyAttribute(lambda o: f"Location {o.code}")


class LineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Line

    site = factory.SubFactory(SiteFactory)
    code = factory.Sequence(lambda n: f"T{n}")
    name = factory.LazyAttribute(lambda o: f"Line {o.code}")
    families = factory.LazyFunction(lambda: ["FAM-A", "FAM-B"])
    status = m.Line.Status.RUNNING


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Item

    code = factory.Sequence(lambda n: f"ITEM-{n}")
    description = factory.LazyAttribute(lambda o: f"Item {o.code}")
    family = "FAM-A"
    rate_per_hour = 1000


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Customer

    code = factory.Sequence(lambda n: f"CUST-{n}")
    name = factory.LazyAttribute(lambda o: f"Customer {o.code}")
    tier = m.Customer.Tier.KEY


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Order

    number = factory.Sequence(lambda n: f"SO-T{n}")
    site = factory.SubFactory(SiteFactory)
    customer = factory.SubFactory(CustomerFactory)
    item = factory.SubFactory(ItemFactory)
    quantity = 1000
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=2))


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Job

    number = factory.Sequence(lambda n: f"WO-T{n}")
    order = factory.SubFactory(OrderFactory)
    line = factory.SubFactory(LineFactory)
    item = factory.LazyAttribute(lambda o: o.order.item)
    quantity = factory.LazyAttribute(lambda o: o.order.quantity)
    sequence = factory.Sequence(lambda n: n * 10)
    planned_start = factory.LazyFunction(timezone.now)
    planned_end = factory.LazyAttribute(lambda o: o.planned_start + timedelta(hours=1))


class LotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = m.Lot

    code = factory.Sequence(lambda n: f"LOT-T{n}")
    item = factory.SubFactory(ItemFactory)
    quantity = Decimal("100")
    location = factory.SubFactory(LocationFactory)


class ExceptionCaseFactory(factory.django.DjangoModelFactory):
    """A bare exception (no observers run, no workflow): for tests about what acts on it."""

    class Meta:
        model = ExceptionCase

    kind = "downtime"
    key = factory.Sequence(lambda n: f"K{n + 1}")
    title = factory.LazyAttribute(lambda o: f"{o.kind} test")
    base_severity = 3
    severity = factory.LazyAttribute(lambda o: o.base_severity)
    first_seen_at = factory.LazyFunction(timezone.now)
    last_seen_at = factory.LazyFunction(timezone.now)


_inbox = itertools.count(1)


def plant_event(type_: str, data: dict, *, site: str = "RIV", stale: bool = False, time=None):
    """A validated, applied event as ingestion hands it to observers."""
    n = next(_inbox)
    now = timezone.now()
    return PlantEvent(
        inbox_id=n,
        type=type_,
        source="mes/test",
        event_id=f"evt-{n}",
        time=time or now,
        received_at=now,
        site=site,
        data=data,
        stale=stale,
    )

"""API shapes of proposals: inputs (validated, documented) and the read shape of the issue."""

from rest_framework import serializers

from .models import Proposal

KPI_FIELDS = ("weighted_tardiness", "late_jobs", "late_orders", "changeover_minutes",
              "makespan_end")  # fmt: skip
JOB_FIELDS = ("job", "line", "start", "end", "changeover_minutes", "late_minutes")


class ApproveInput(serializers.Serializer):
    alternative = serializers.CharField(max_length=40, help_text="an alternative's key")
    rationale = serializers.CharField(max_length=2000, help_text="why this one")


class RejectInput(serializers.Serializer):
    rationale = serializers.CharField(max_length=2000, help_text="why the plan stays")


class PinInput(serializers.Serializer):
    job = serializers.CharField(max_length=40)
    line = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    position = serializers.IntegerField(min_value=1, max_value=1000, required=False,
                                        allow_null=True, default=None)  # fmt: skip

    def validate(self, data):
        if not data.get("line") and not data.get("position"):
            raise serializers.ValidationError("give a line, a position or both")
        return data


class ResequenceInput(serializers.Serializer):
    pins = PinInput(many=True, required=False, default=list, help_text="re-optimise around these")
    based_on = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, required=False, allow_null=True, default=None,
        help_text="the proposal whose shown sequence a pinned position counts in",
    )  # fmt: skip


def _kpis(kpis: dict | None) -> dict:
    return {k: (kpis or {}).get(k) for k in KPI_FIELDS}


def _jobs(rows) -> list[dict]:
    return [{k: r.get(k) for k in JOB_FIELDS} for r in rows or []]


class ProposalSerializer(serializers.ModelSerializer):
    case = serializers.IntegerField(source="case_id", allow_null=True)
    baseline = serializers.SerializerMethodField()
    alternatives = serializers.SerializerMethodField()

    class Meta:
        model = Proposal
        fields = ["id", "status", "lines", "case", "trigger", "created_at", "ready_seconds",
                  "input_version", "baseline", "alternatives"]  # fmt: skip

    def get_baseline(self, obj) -> dict:
        base = obj.baseline or {}
        return {"kpis": _kpis(base.get("kpis")), "jobs": _jobs(base.get("jobs"))}

    def get_alternatives(self, obj) -> list[dict]:
        request = self.context.get("request")
        orders = request is None or request.user.has_perm("coordination.view_order")
        text = "explanation" if orders else "explanation_floor"
        return [
            {"key": a["key"], "label": a["label"], "kpis": _kpis(a["kpis"]),
             "jobs": _jobs(a["jobs"]), "explanation": a.get(text, a["explanation"])}
            for a in obj.alternatives or []
        ]  # fmt: skip


class ApprovedSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="proposal_id")
    status = serializers.CharField(source="proposal.status")
    alternative = serializers.CharField(source="chosen")
    decision = serializers.IntegerField(source="pk")
    predicted = serializers.JSONField()

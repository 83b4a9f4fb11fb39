"""The planner's actions on proposals, one table for the pages and the API (``kernel.actions``)."""

from kernel.actions import Action, ActionTable

from . import services
from .forms import ApproveForm, RejectForm
from .models import Proposal
from .serializers import ApproveInput, RejectInput

OPEN = Proposal.Status.PROPOSED

PROPOSAL_ACTIONS = ActionTable(
    "proposal_id",
    {
        "approve": Action(
            perform=services.proposal_approve,
            form=ApproveForm,
            input=ApproveInput,
            done=lambda d: (
                f"Approved “{d.chosen_label}” for {', '.join(d.proposal.lines)}: "
                "the new sequence goes to MES."
            ),
            when=lambda p: p.status == OPEN and p.is_ready,
        ),
        "reject": Action(
            perform=services.proposal_reject,
            form=RejectForm,
            input=RejectInput,
            done=lambda p: f"Proposal #{p.pk} rejected: the plan stays as it is.",
            when=lambda p: p.status == OPEN,
        ),
    },
)


def proposal_actions_offered(proposal: Proposal, user) -> list[str]:
    """What the page offers: only planners act, and only on an open proposal."""
    if not user.has_perm(services.APPROVE_PERMISSION):
        return []
    return PROPOSAL_ACTIONS.offered(proposal)

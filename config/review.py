"""How finance reviews a month: when a customer's change against last month is worth a flag on the batch page.

Why config: what counts as a surprising change depends on the reseller (a 5 % swing on a 40 EUR customer is noise,
on a 40,000 EUR one it is a call to make), so each legal entity may set its own thresholds; the global ``review:``
section is the default for those that set none.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import Field

from config.base import Strict


class ReviewConfig(Strict):
    """A customer is flagged when its net changed by at least ``change_threshold_percent`` of last month *and* by
    at least ``change_threshold_amount`` (in the batch's currency); a customer new or gone this month is flagged
    when its amount reaches ``change_threshold_amount``. Leave either at 0 to flag on the other alone."""

    change_threshold_percent: Annotated[Decimal, Field(ge=0, le=Decimal("10000"))] = Decimal("20")
    change_threshold_amount: Annotated[Decimal, Field(ge=0)] = Decimal("100")

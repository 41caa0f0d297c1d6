"""Tables of the customer service: the customer master and the unified view."""

from services.customer.tables.customers import Customer, CustomerDeal
from services.customer.tables.merging import CustomerErasure, CustomerMerge
from services.customer.tables.view import CustomerView, TimelineRecord, ViewFact
from shared.db import Base

__all__ = ["Base", "Customer", "CustomerDeal", "CustomerErasure", "CustomerMerge", "CustomerView", "TimelineRecord", "ViewFact"]

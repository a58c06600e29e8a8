"""Finance: trade-finance applications, eligibility, review, disbursement and repayment."""

"""The invoicing service: recurring billing of sales orders, invoices and their documents (issue 22)."""

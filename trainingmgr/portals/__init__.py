"""Pages that gather facts from many packages (sessions, enrolments, attendance, documents, signing, evaluations,
billing) for someone outside the back office: the company space, the trainer space and agenda, the public catalogue.
Their own records (companies/, resources/, catalogue/) sit lower and ask for these facts through registries."""

"""Subcontracted training: a trainer's file (documents, professional-development log), the contract or mission
letter of a trainer for a session (a document of trainingmgr/documents), and the trainer's invoices checked against
it. The trainer's status, SIRET, NDA and rate live on the trainer record (resources)."""

"""Automations: rules that e-mail someone when something happens or at a date (J−1, J+n…), with templates the
organisation edits in a sandbox, a dry run of what will leave, and a ledger that makes each message leave once."""

"""Caregiver alerts: the policy state machine and crisis phrases (pure), the outbox and delivery
channels (banner, desktop, e-mail, webhook) with retries that survive a restart."""
